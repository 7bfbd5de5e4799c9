// The labelled prompt set the complexity analyzer is tested and calibrated against.
import type { ComplexityInput, ComplexityLevel } from "./analyze-complexity.ts";

export interface ComplexityFixture {
  id: string;
  level: ComplexityLevel;
  input: ComplexityInput;
}

const p = (id: string, level: ComplexityLevel, prompt: string): ComplexityFixture => ({ id, level, input: { prompt } });
const chat = (id: string, level: ComplexityLevel, ...turns: Array<[string, string]>): ComplexityFixture => ({
  id,
  level,
  input: { messages: turns.map(([role, content]) => ({ role, content })) },
});

/**
 * Labels follow one question: would a user notice a weaker quantization here? Low: chit-chat, one-fact lookups,
 * short creative asks. Medium: explanations of a technical idea, short code, simple algebra, practical advice with
 * some jargon. High: writing or debugging real code, proofs and derivations, multi-constraint technical, legal,
 * financial or medical analysis, long technical context.
 */
export const COMPLEXITY_FIXTURES: readonly ComplexityFixture[] = [
  // ---- low ------------------------------------------------------------------------------------------------------
  p("greeting", "low", "Hi! How are you today?"),
  p("capital", "low", "What's the capital of Australia?"),
  p("joke", "low", "Tell me a joke about cats."),
  p("thanks", "low", "Thanks, that was really helpful!"),
  p("translate-phrase", "low", "Translate 'good morning' into Spanish."),
  p("haiku", "low", "Write a haiku about the ocean at night."),
  p("leap-year", "low", "How many days are in a leap year?"),
  p("arithmetic", "low", "What is 15 + 27?"),
  p("french-greeting", "low", "Bonjour, comment ça va ?"),
  p("japanese-greeting", "low", "こんにちは、元気ですか？"),
  p("puppy-names", "low", "Give me three name ideas for a golden retriever puppy."),
  p("movie", "low", "Can you recommend a good sci-fi movie to watch tonight? Nothing too scary."),
  p("birthday-message", "low", "Write a short, warm birthday message for my grandmother who is turning 90."),
  chat(
    "picnic-chat",
    "low",
    ["user", "I'm planning a picnic on Saturday."],
    ["assistant", "Sounds lovely! Where are you thinking of going?"],
    ["user", "Probably the park near my house. What snacks should I bring?"],
  ),

  // ---- medium ---------------------------------------------------------------------------------------------------
  p("process-vs-thread", "medium", "Explain the difference between a process and a thread in an operating system."),
  p(
    "ira",
    "medium",
    "What is the difference between a Roth IRA and a traditional IRA, and which one makes more sense for someone in their twenties with a low income tax rate?",
  ),
  p(
    "https-password",
    "medium",
    "How does HTTPS keep my password safe when I log in to a website? Explain how the encryption works in simple terms.",
  ),
  p(
    "p-value",
    "medium",
    "Can you explain what a p-value means in a clinical trial, in plain language, and why p < 0.05 is not proof of an effect?",
  ),
  p(
    "palindrome",
    "medium",
    "Write a Python function that checks whether a string is a palindrome, ignoring spaces and punctuation.",
  ),
  p(
    "regex",
    "medium",
    "What does this regex match? `^\\d{3}-\\d{4}$` Could it also match a phone number with an area code?",
  ),
  p("linear-equation", "medium", "Solve for x: 3x + 7 = 22, and show your steps."),
  p(
    "rent-vs-buy",
    "medium",
    "Compare the pros and cons of renting vs buying a flat in a big city when mortgage interest rates are around 6%. I have savings for a 10% down payment.",
  ),
  p(
    "vaccines",
    "medium",
    "Explain how vaccines train the immune system, including the role of antibodies and memory cells.",
  ),
  p(
    "gdpr-erasure",
    "medium",
    "Under the GDPR, what is the right to erasure, and in which situations can a company lawfully refuse a deletion request?",
  ),
  p(
    "heat-pump-de",
    "medium",
    "Erkläre mir bitte, wie eine Wärmepumpe funktioniert und warum sie effizienter ist als eine Gasheizung. Welche Rolle spielt die Außentemperatur?",
  ),
  p(
    "email-rewrite",
    "medium",
    "Rewrite this email to sound more professional but still friendly:\n\nhey team, the release is gonna slip a week cause QA found a bunch of bugs in the checkout flow. sorry!! we'll fix them asap and i'll send an update friday.",
  ),
  p(
    "study-plan",
    "medium",
    "Make me a 4-week study plan for learning basic statistics:\n- I have 1 hour per day\n- I know high-school algebra\n- I want to understand mean, variance, standard deviation and regression\n- include one small project per week",
  ),
  chat(
    "sql-joins",
    "medium",
    ["user", "I'm learning SQL for my job as a data analyst."],
    ["assistant", "Great! SQL is very useful. What would you like to start with?"],
    [
      "user",
      "What's the difference between INNER JOIN and LEFT JOIN? Show a small example with customers and orders tables.",
    ],
  ),

  // ---- high -----------------------------------------------------------------------------------------------------
  p(
    "race-condition",
    "high",
    "This async function sometimes returns stale data and issues duplicate queries under load. Find the race condition and fix it:\n\n```ts\nconst cache: Map<string, User> = new Map();\nexport async function getUser(id: string): Promise<User> {\n  if (cache.has(id)) return cache.get(id)!;\n  const user = await db.query('SELECT * FROM users WHERE id = $1', [id]);\n  cache.set(id, user);\n  return user;\n}\n```\n\nAlso explain how to deduplicate concurrent requests for the same id and how to invalidate entries when a user is updated.",
  ),
  p(
    "induction-proof",
    "high",
    "Prove that for every integer n ≥ 1, $\\sum_{k=1}^{n} k^3 = \\left(\\frac{n(n+1)}{2}\\right)^2$ using induction.",
  ),
  p(
    "ols-derivation",
    "high",
    "Derive the closed-form solution of ordinary least squares, $\\hat{\\beta} = (X^T X)^{-1} X^T y$, starting from the loss $\\|y - X\\beta\\|^2$. Then explain when $X^T X$ is not invertible and what ridge regression changes.",
  ),
  p(
    "rate-limiter-design",
    "high",
    "Design a distributed rate limiter for a multi-region API gateway handling 1M requests per second. Discuss consistency trade-offs, token bucket vs sliding window, Redis vs local counters, what happens during a network partition, and the failure modes of each approach.",
  ),
  p(
    "spsc-ring-buffer",
    "high",
    "Implement a lock-free single-producer single-consumer ring buffer in C++ using std::atomic with correct memory ordering. Explain why acquire/release ordering is sufficient and where false sharing could hurt throughput.",
  ),
  p(
    "dcf",
    "high",
    "Build a discounted cash flow valuation for a SaaS company with 40% revenue growth decaying linearly to 5% over 10 years, 25% EBITDA margins, a WACC of 9% and a terminal growth rate of 3%. Show the formulas, compute the NPV of the free cash flows and the terminal value, and analyze the sensitivity of the valuation to WACC and terminal growth.",
  ),
  p(
    "anticoagulation",
    "high",
    "A 67-year-old patient with atrial fibrillation, chronic kidney disease (eGFR 28 mL/min) and a history of GI bleeding needs anticoagulation. Compare apixaban, warfarin and dabigatran with respect to pharmacokinetics, renal dosage adjustments, bleeding risk and contraindications, and justify a recommendation.",
  ),
  p(
    "non-compete",
    "high",
    "Analyze whether a non-compete clause in an employment contract is enforceable under California law versus New York law, citing the relevant statutes and case law. Then draft a compliant alternative clause that protects trade secrets through an NDA and a non-solicitation provision.",
  ),
  p(
    "benchmark-table",
    "high",
    "Here are latency results (ms) from two versions of our service, 5 runs each:\n\n| run | v1  | v2  |\n|-----|-----|-----|\n| 1   | 120 | 98  |\n| 2   | 118 | 105 |\n| 3   | 131 | 97  |\n| 4   | 125 | 110 |\n| 5   | 122 | 101 |\n\nIs the improvement statistically significant? Run a Welch t-test by hand, show the variance and standard deviation of each column, state the null hypothesis, and explain whether 5 runs are enough.",
  ),
  chat(
    "k8s-oom",
    "high",
    ["user", "Our Java service on Kubernetes keeps getting OOMKilled even though the heap is only 60% used."],
    [
      "assistant",
      "That usually means memory outside the Java heap is growing. Can you share the pod spec and JVM flags?",
    ],
    [
      "user",
      "Sure:\n\n```yaml\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: registry/api:1.4\n          resources:\n            limits:\n              memory: 2Gi\n          env:\n            - name: JAVA_OPTS\n              value: -Xmx1800m -XX:+UseG1GC\n```",
    ],
    [
      "assistant",
      "With -Xmx1800m under a 2Gi limit there is almost no room for metaspace, thread stacks and direct buffers.",
    ],
    [
      "user",
      "Right. How should I size -Xmx, MaxMetaspaceSize and MaxDirectMemorySize for this container, how do I measure native memory with NMT, and what are the trade-offs of using -XX:MaxRAMPercentage instead?",
    ],
  ),
  p(
    "wave-equation",
    "high",
    "Starting from Maxwell's equations in vacuum, derive the electromagnetic wave equation $\\nabla^2 \\mathbf{E} = \\mu_0 \\epsilon_0 \\frac{\\partial^2 \\mathbf{E}}{\\partial t^2}$ and show that the wave speed equals $c = 1/\\sqrt{\\mu_0 \\epsilon_0}$.",
  ),
  p(
    "zh-optimize",
    "high",
    "请帮我优化下面的Python代码，它在处理大数据时很慢：\n\n```python\nresult = []\nfor i in range(len(data)):\n    for j in range(len(data)):\n        if data[i] + data[j] == target:\n            result.append((i, j))\n```\n\n并解释时间复杂度 (time complexity) 如何从 O(n^2) 降到 O(n)，以及哈希表 (hash table) 的边界情况。",
  ),
  p(
    "architecture-review",
    "high",
    [
      "Please review the architecture below and summarize the key design decisions, their trade-offs and the main risks.",
      "",
      "## Ingestion",
      "Events arrive over HTTPS at an API gateway that authenticates clients with OAuth 2.0 client credentials and",
      "JWT access tokens. The gateway writes each event to a Kafka topic partitioned by tenant id; producers use",
      "idempotent writes with acks=all so that retries after a timeout do not create duplicates. Schemas are",
      "Protobuf messages registered in a schema registry with backward compatibility enforced at publish time.",
      "",
      "## Processing",
      "A fleet of stateless consumers on Kubernetes reads the topic with consumer groups. Each consumer",
      "deserializes events, enriches them from a Redis cache (with a 5-minute TTL and cache invalidation driven by",
      "change-data-capture from PostgreSQL), and writes aggregates to a time-series database. Exactly-once",
      "semantics are approximated with transactional outbox tables and idempotent upserts keyed on event id.",
      "Backpressure is handled by pausing partitions when the downstream write latency exceeds 200 ms at p99.",
      "",
      "## Storage and queries",
      "PostgreSQL holds tenants, users and billing with synchronous replication to one standby and asynchronous",
      "replication to a second region. Read replicas serve dashboards; the query planner is steered with partial",
      "indexes on (tenant_id, created_at). Eventual consistency between regions is accepted for dashboards but",
      "not for billing, which always reads from the primary.",
      "",
      "## Operations",
      "Deployments use blue-green releases; schema migrations run before traffic is switched and must be",
      "backward compatible for one release. SLOs: 99.9% availability, p99 ingestion latency under 300 ms.",
      "Alerts fire on consumer lag above 50k messages or on error budgets burning faster than 2x.",
    ].join("\n"),
  ),

  // ---- round 2: written as a held-out set after the first calibration (12/15 correct then), used for one round
  // of generic fixes (technical tokens, finance and shell vocabulary) and folded in here -----------------------
  p("weather", "low", "Is it going to rain in London this weekend?"),
  p("recipe", "low", "What can I cook tonight with eggs, spinach and some feta?"),
  p("synonym", "low", "What's another word for 'happy'?"),
  p("spanish-chat", "low", "Hola, ¿qué tal tu día?"),
  p("fun-fact", "low", "Tell me a fun fact about octopuses."),
  p("git-undo", "medium", "How do I undo my last git commit without losing the changes in my working directory?"),
  p("inflation", "medium", "Why does inflation usually go down when the central bank raises interest rates?"),
  p("bash-loop", "medium", "Write a bash script that renames every .jpeg file in a folder to .jpg."),
  p(
    "insulin",
    "medium",
    "Explain the difference between type 1 and type 2 diabetes and how insulin is involved in each.",
  ),
  p("quadratic", "medium", "Find the roots of x^2 - 5x + 6 = 0 and explain how the quadratic formula works."),
  p(
    "lru-impl",
    "high",
    "Implement an LRU cache in TypeScript with O(1) get and put using a hash map and a doubly linked list. Include generics, handle capacity 0 as an edge case, and write unit tests for eviction order.",
  ),
  p(
    "eigen-proof",
    "high",
    "Prove that the eigenvalues of a real symmetric matrix are real and that eigenvectors for distinct eigenvalues are orthogonal. Use $A = A^T$ and the inner product $\\langle Ax, x \\rangle$.",
  ),
  p(
    "sharding",
    "high",
    "We need to shard a 4 TB PostgreSQL database by customer. Compare hash sharding and range sharding for our workload (90% reads, cross-customer analytics nightly), explain how to migrate with zero downtime, and analyze the risks for transactions that span shards.",
  ),
  p(
    "bond-duration",
    "high",
    "Compute the Macaulay and modified duration of a 5-year bond with a 4% annual coupon and a yield to maturity of 5.5%, show each cash flow's discounted value, and estimate the price change for a 100 basis point rise in yield using duration and convexity.",
  ),
  chat(
    "segfault",
    "high",
    ["user", "My C program crashes with a segmentation fault only when compiled with -O2."],
    ["assistant", "That often points to undefined behaviour. Can you share the code?"],
    [
      "user",
      "```c\nchar *join(const char *a, const char *b) {\n    char buf[64];\n    strcpy(buf, a);\n    strcat(buf, b);\n    return buf;\n}\n```\nWhy does it work at -O0 but not -O2, and how should I fix it safely for inputs of any length?",
    ],
  ),
];

/**
 * Prompts written after every weight, pattern and lexicon entry above was frozen, and never used to tune them:
 * the analyzer's accuracy here is the honest estimate of how it does on unseen prompts.
 */
export const COMPLEXITY_HOLDOUT: readonly ComplexityFixture[] = [
  p("h2-song", "low", "What's a good song to play at a friend's wedding?"),
  p("h2-spelling", "low", "Is it spelled 'definately' or 'definitely'?"),
  p("h2-italian", "low", "Ciao! Mi consigli un buon libro da leggere in vacanza?"),
  p("h2-plants", "low", "How often should I water a cactus?"),
  chat(
    "h2-small-talk",
    "low",
    ["user", "I just got back from a trip to Portugal."],
    ["assistant", "Welcome back! How was it?"],
    ["user", "Amazing, the food in Lisbon was great. Any tips for my next trip there?"],
  ),
  p("h2-big-o", "medium", "What is the time complexity of binary search and why is it logarithmic?"),
  p(
    "h2-cover-letter",
    "medium",
    "Help me write a cover letter for a junior data analyst position. I have a statistics degree, an internship where I built dashboards in Power BI, and I know SQL and Python.",
  ),
  p("h2-dns", "medium", "What happens, step by step, when I type a URL into my browser and press enter?"),
  p(
    "h2-js-closure",
    "medium",
    "Why does this print 3 three times instead of 0, 1, 2?\n\n```js\nfor (var i = 0; i < 3; i++) {\n  setTimeout(() => console.log(i), 0);\n}\n```",
  ),
  p(
    "h2-compound",
    "medium",
    "If I invest $200 a month at 7% annual return, roughly how much will I have after 20 years? Explain the calculation.",
  ),
  p(
    "h2-bayes",
    "high",
    "A test for a disease with 1% prevalence has 95% sensitivity and 90% specificity. Using Bayes' theorem, derive $P(D \\mid +)$, then compute how the posterior changes after two independent positive tests, and explain the base-rate fallacy.",
  ),
  p(
    "h2-graphql-n1",
    "high",
    "Our GraphQL API has an N+1 query problem when resolving `posts { author { name } }`. Explain how DataLoader batching and per-request caching solve it, implement a loader in TypeScript for the author resolver, and discuss the trade-offs versus a SQL join in the resolver.",
  ),
  p(
    "h2-contract-review",
    "high",
    'Review this indemnification clause from a SaaS vendor agreement and identify the risks for us as the customer: "Customer shall indemnify, defend and hold harmless Vendor from any and all claims arising out of or related to Customer\'s use of the Service, including claims of intellectual property infringement." Propose a balanced mutual indemnity with a liability cap, and explain which carve-outs are market standard.',
  ),
  p(
    "h2-transformer",
    "high",
    "Derive the computational and memory complexity of self-attention in a transformer with sequence length n and hidden size d, explain why the KV cache makes autoregressive decoding O(n) per token, and compare FlashAttention's tiling with sliding-window attention for long contexts.",
  ),
  chat(
    "h2-deadlock",
    "high",
    ["user", "Two of our Go services deadlock under load and I can't reproduce it locally."],
    ["assistant", "Can you share the goroutine dump or the locking code?"],
    [
      "user",
      "```go\nfunc (a *Account) Transfer(to *Account, amt int) {\n    a.mu.Lock()\n    defer a.mu.Unlock()\n    to.mu.Lock()\n    defer to.mu.Unlock()\n    a.balance -= amt\n    to.balance += amt\n}\n```\nTransfers run concurrently in both directions. Why does this deadlock, and how do I fix it without a global lock?",
    ],
  ),
];
