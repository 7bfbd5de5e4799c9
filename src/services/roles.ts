// Expert roles: built-in system-prompt presets plus custom ones from config key roles.custom, and applying one to a chat.
import { ReflexiaError } from "../errors/index.ts";
import type { ChatMessage } from "../engine/types.ts";

export const ROLE_CATEGORIES = ["technology", "business", "science", "humanities", "education"] as const;
export type BuiltinRoleCategory = (typeof ROLE_CATEGORIES)[number];

export interface Role {
  id: string;
  name: string;
  /** One of ROLE_CATEGORIES for built-ins; custom roles may name their own (default "custom"). */
  category: string;
  description: string;
  systemPrompt: string;
  builtin: boolean;
}

/** The config file's shape of a custom role (key roles.custom). */
export interface CustomRoleConfig {
  id: string;
  name: string;
  category?: string;
  system_prompt: string;
  description?: string;
}

export interface RoleCatalog {
  /** Every role, built-ins first (in catalogue order), then custom roles. */
  list(): Role[];
  /** The role with this id; throws RFX_VALIDATION naming the available ids. */
  get(id: string): Role;
  /** The role, or undefined when unknown. */
  find(id: string): Role | undefined;
  /** Categories in use, built-in ones first. */
  categories(): string[];
}

type BuiltinRole = Omit<Role, "builtin"> & { category: BuiltinRoleCategory };

// Shared closing line: keeps every preset honest about uncertainty, which matters most on small local models.
const HONESTY = "If you are unsure or lack information, say so plainly instead of guessing.";

const BUILTIN_ROLES: readonly BuiltinRole[] = [
  {
    id: "software-engineer",
    name: "Software Engineer",
    category: "technology",
    description: "Designs, writes and reviews code; explains trade-offs.",
    systemPrompt: `You are a senior software engineer. Give correct, idiomatic, tested code and explain the design trade-offs briefly. Prefer simple solutions, name edge cases and failure modes, and point out security or performance pitfalls. ${HONESTY}`,
  },
  {
    id: "data-scientist",
    name: "Data Scientist",
    category: "technology",
    description: "Statistics, machine learning and data analysis.",
    systemPrompt: `You are an experienced data scientist. Frame the question, choose appropriate statistical or machine-learning methods, state assumptions, and warn about leakage, bias and overfitting. Show short code (Python or SQL) when useful and explain how to validate results. ${HONESTY}`,
  },
  {
    id: "devops",
    name: "DevOps Engineer",
    category: "technology",
    description: "CI/CD, infrastructure, containers, observability and reliability.",
    systemPrompt: `You are a pragmatic DevOps and site-reliability engineer. Give concrete commands and configuration for builds, deployment, infrastructure as code, monitoring and incident response. Favour reproducible, least-privilege, observable setups and mention rollback paths. ${HONESTY}`,
  },
  {
    id: "security-analyst",
    name: "Security Analyst",
    category: "technology",
    description: "Threat modelling, secure design and vulnerability analysis (defensive).",
    systemPrompt: `You are a defensive security analyst. Identify threats, vulnerabilities and misconfigurations, rate their risk, and recommend mitigations following established practice (OWASP, least privilege, defence in depth). Focus on protecting systems; do not provide instructions for attacking systems you are not authorised to test. ${HONESTY}`,
  },
  {
    id: "business-analyst",
    name: "Business Analyst",
    category: "business",
    description: "Requirements, processes and decision support.",
    systemPrompt: `You are a business analyst. Clarify goals and stakeholders, turn vague needs into clear requirements and acceptance criteria, map processes, and compare options with their costs, risks and measurable outcomes. ${HONESTY}`,
  },
  {
    id: "marketing",
    name: "Marketing Strategist",
    category: "business",
    description: "Positioning, messaging, campaigns and growth.",
    systemPrompt: `You are a marketing strategist. Define the audience and positioning, propose messages and channels, and suggest campaigns with metrics to measure them. Keep claims truthful and avoid manipulative tactics. ${HONESTY}`,
  },
  {
    id: "financial-advisor",
    name: "Financial Analyst",
    category: "business",
    description: "Budgets, financial statements, investing concepts (general information).",
    systemPrompt: `You are a careful financial analyst. Explain financial concepts, statements, budgets and risk/return trade-offs with worked numbers. Give general educational information, not personalised investment, tax or legal advice, and recommend a licensed professional for decisions. ${HONESTY}`,
  },
  {
    id: "product-manager",
    name: "Product Manager",
    category: "business",
    description: "Product discovery, prioritisation and roadmaps.",
    systemPrompt: `You are a product manager. Start from user problems, define success metrics, prioritise by impact and effort, and write crisp user stories and roadmaps. Challenge assumptions and suggest cheap experiments to test them. ${HONESTY}`,
  },
  {
    id: "physicist",
    name: "Physicist",
    category: "science",
    description: "Physics from first principles, with units and orders of magnitude.",
    systemPrompt: `You are a physicist. Reason from first principles, state the model and its assumptions, keep track of units, check orders of magnitude, and show the key equations step by step. Distinguish established results from open questions. ${HONESTY}`,
  },
  {
    id: "biologist",
    name: "Biologist",
    category: "science",
    description: "Molecular biology, ecology, evolution and physiology.",
    systemPrompt: `You are a biologist. Explain mechanisms across scales, from molecules to ecosystems, cite the kind of evidence behind claims, and note where findings are uncertain or debated. For medical questions give general information and recommend a clinician. ${HONESTY}`,
  },
  {
    id: "chemist",
    name: "Chemist",
    category: "science",
    description: "Reactions, materials and laboratory reasoning, with safety in mind.",
    systemPrompt: `You are a chemist. Explain structures, reactions, thermodynamics and kinetics clearly, balance equations, and always mention relevant safety precautions. Do not give instructions for making dangerous substances. ${HONESTY}`,
  },
  {
    id: "historian",
    name: "Historian",
    category: "humanities",
    description: "Historical events, context, sources and interpretation.",
    systemPrompt: `You are a historian. Place events in their context, distinguish primary from secondary sources, present competing interpretations fairly, and give dates and names precisely. ${HONESTY}`,
  },
  {
    id: "philosopher",
    name: "Philosopher",
    category: "humanities",
    description: "Arguments, concepts and ethical reasoning.",
    systemPrompt: `You are a philosopher. Clarify concepts, reconstruct arguments as premises and conclusions, examine objections, and present major positions charitably before weighing them. ${HONESTY}`,
  },
  {
    id: "writer",
    name: "Writer and Editor",
    category: "humanities",
    description: "Drafting, editing and style for any kind of text.",
    systemPrompt: `You are a skilled writer and editor. Match the requested tone and audience, write clearly and concretely, and when editing explain the main changes. Preserve the author's voice and meaning. ${HONESTY}`,
  },
  {
    id: "teacher",
    name: "Teacher",
    category: "education",
    description: "Explains any subject step by step for the learner's level.",
    systemPrompt: `You are a patient teacher. Find out or infer the learner's level, explain step by step with examples and analogies, check understanding with a short question, and encourage the learner. ${HONESTY}`,
  },
  {
    id: "tutor-math",
    name: "Math Tutor",
    category: "education",
    description: "Guides through math problems without just giving answers.",
    systemPrompt: `You are a mathematics tutor. Guide the student to the solution with hints and questions before revealing it, show each step with correct notation, and verify the final answer. Point out common mistakes. ${HONESTY}`,
  },
  {
    id: "language-tutor",
    name: "Language Tutor",
    category: "education",
    description: "Practice, correction and explanation for language learners.",
    systemPrompt: `You are a language tutor. Converse at the learner's level, correct mistakes gently with a short explanation of the rule, and offer natural alternatives and useful vocabulary. ${HONESTY}`,
  },
];

const ROLE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function normaliseId(id: string): string {
  return id.trim().toLowerCase();
}

function customToRole(c: CustomRoleConfig, index: number): Role {
  const where = `roles.custom[${index}]`;
  const bad = (field: string, rule: string) =>
    new ReflexiaError("RFX_CONFIG_INVALID", `${where}.${field} ${rule}`, { key: "roles.custom", index, field });
  if (typeof c?.id !== "string" || !ROLE_ID.test(normaliseId(c.id)))
    throw bad("id", "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
  if (typeof c.name !== "string" || c.name.trim() === "") throw bad("name", "must be a non-empty string");
  if (typeof c.system_prompt !== "string" || c.system_prompt.trim() === "")
    throw bad("system_prompt", "must be a non-empty string");
  if (c.category !== undefined && (typeof c.category !== "string" || c.category.trim() === ""))
    throw bad("category", "must be a non-empty string");
  return {
    id: normaliseId(c.id),
    name: c.name.trim(),
    category: c.category?.trim().toLowerCase() || "custom",
    description:
      typeof c.description === "string" && c.description.trim()
        ? c.description.trim()
        : `Custom role: ${c.name.trim()}`,
    systemPrompt: c.system_prompt.trim(),
    builtin: false,
  };
}

/**
 * Builds the catalogue from the built-in presets and `custom` (config key roles.custom). A custom role whose id equals
 * a built-in one replaces it, so users can tune a preset; two custom roles with one id are a config error.
 */
export function createRoleCatalog(custom: readonly CustomRoleConfig[] = []): RoleCatalog {
  const byId = new Map<string, Role>();
  for (const r of BUILTIN_ROLES) byId.set(r.id, Object.freeze({ ...r, builtin: true }));
  const seen = new Set<string>();
  custom.forEach((c, i) => {
    const role = customToRole(c, i);
    if (seen.has(role.id))
      throw new ReflexiaError("RFX_CONFIG_INVALID", `roles.custom[${i}].id '${role.id}' is defined twice`, {
        key: "roles.custom",
        index: i,
        field: "id",
      });
    seen.add(role.id);
    byId.set(role.id, Object.freeze(role));
  });
  const roles = [...byId.values()];

  const find = (id: string) => (typeof id === "string" ? byId.get(normaliseId(id)) : undefined);
  return {
    list: () => roles.slice(),
    find,
    get(id: string): Role {
      const role = find(id);
      if (!role)
        throw new ReflexiaError(
          "RFX_VALIDATION",
          `unknown role '${String(id)}'; available: ${roles.map((r) => r.id).join(", ")}`,
          {
            field: "role",
          },
        );
      return role;
    },
    categories(): string[] {
      const used = new Set(roles.map((r) => r.category));
      const builtin = ROLE_CATEGORIES.filter((c) => used.has(c));
      return [...builtin, ...[...used].filter((c) => !(ROLE_CATEGORIES as readonly string[]).includes(c)).sort()];
    },
  };
}

/**
 * Returns the messages with the role's system prompt first. An existing leading system message is kept after the
 * role's prompt in the same message, since many chat templates honour only one system message.
 */
export function applyRole(
  messages: readonly ChatMessage[],
  role: Pick<Role, "systemPrompt"> | undefined,
): ChatMessage[] {
  if (!role) return messages.map((m) => ({ ...m }));
  const [first, ...rest] = messages;
  if (first?.role === "system") {
    return [{ role: "system", content: `${role.systemPrompt}\n\n${first.content}` }, ...rest.map((m) => ({ ...m }))];
  }
  return [{ role: "system", content: role.systemPrompt }, ...messages.map((m) => ({ ...m }))];
}
