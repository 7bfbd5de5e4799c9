// The scale-out overlay (deploy/scale-out): its config patch is valid Reflexia config whose remote variant points at
// every pod of the inference pool, and (where kubectl is installed) kustomize renders it onto the base.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../src/config/index.ts";
import { findBinary } from "./deploy-require-binary.ts";

const DIR = join(import.meta.dirname, "..", "deploy", "scale-out");
const read = (f: string) => readFileSync(join(DIR, f), "utf8");

describe("deploy/scale-out", () => {
  it("the config patch validates, and its remote variant lists each pool pod by its stable name", () => {
    const data = (parse(read("configmap-patch.yaml")) as { data: Record<string, string> }).data;
    const { config } = loadConfig({ env: data });
    const pool = parseAllDocuments(read("inference-pool.yaml")).map((d) => d.toJS());
    const sts = pool.find((o) => o.kind === "StatefulSet");
    const svc = pool.find((o) => o.kind === "Service");
    expect(svc.spec.clusterIP).toBe("None");
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    const remote = config.remote.models.find((m) => m.name === config.models.default)!;
    expect(remote.urls).toEqual(
      Array.from(
        { length: sts.spec.replicas },
        (_, i) => `http://${sts.metadata.name}-${i}.${svc.metadata.name}:8080/v1`,
      ),
    );
  });

  it.skipIf(!findBinary("kubectl"))("kustomize renders replicas without the shared volume", () => {
    const docs = parseAllDocuments(execFileSync("kubectl", ["kustomize", DIR], { encoding: "utf8" })).map((d) =>
      d.toJS(),
    );
    expect(docs.some((d) => d.kind === "PersistentVolumeClaim" && d.metadata.name === "reflexia-data")).toBe(false);
    const dep = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "reflexia");
    const data = dep.spec.template.spec.volumes.find((v: { name: string }) => v.name === "data");
    expect(data.emptyDir).toBeDefined();
    expect(data.persistentVolumeClaim).toBeUndefined();
    expect(docs.find((d) => d.kind === "HorizontalPodAutoscaler").spec.minReplicas).toBeGreaterThan(1);
    const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name.startsWith("reflexia-config"));
    expect(JSON.parse(cm.data.REFLEXIA_REMOTE_MODELS)[0].urls.length).toBe(2);
  });
});
