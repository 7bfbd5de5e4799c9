import { describe, expect, it } from "vitest";
import { stemSnowballEnglish } from "./snowball-english.ts";

describe("stemSnowballEnglish", () => {
  it("stems as the Snowball English (Porter2) algorithm does", () => {
    const cases: Record<string, string> = {
      running: "run",
      runs: "run",
      stopped: "stop",
      sitting: "sit",
      happily: "happili",
      generously: "generous",
      generate: "generat",
      relational: "relat",
      conditional: "condit",
      consolingly: "consol",
      consolatory: "consolatori",
      conspiracy: "conspiraci",
      knackeries: "knackeri",
      knives: "knive",
      kneeling: "kneel",
      hoped: "hope",
      hopping: "hop",
      agreed: "agre",
      ties: "tie",
      cries: "cri",
      caresses: "caress",
      skies: "sky",
      dying: "die",
      news: "news",
      inning: "inning",
      succeeded: "succeed",
      geology: "geolog",
      communism: "communism",
      its: "it",
      yes: "yes",
      saying: "say",
      by: "by",
    };
    for (const [word, stem] of Object.entries(cases)) expect([word, stemSnowballEnglish(word)]).toEqual([word, stem]);
    // A non-ASCII letter is a non-vowel; a character outside the BMP counts as one letter.
    expect(stemSnowballEnglish("naïvely")).toBe("naïv");
    expect(stemSnowballEnglish("x𝐚s")).toBe("x𝐚s");
  });
});
