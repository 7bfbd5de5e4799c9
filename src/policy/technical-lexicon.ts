// The curated technical vocabulary the complexity analyzer counts, grouped by domain.

export const LEXICON_DOMAINS = ["programming", "math", "science", "law", "finance", "medicine"] as const;
export type LexiconDomain = (typeof LEXICON_DOMAINS)[number];

/**
 * Terms are lowercase; hyphens are written as spaces (text is normalised the same way) and matching also tries
 * the singular of a plural word. Words that are frequent in everyday prose (field, limit, stack, bond, cell) are
 * left out on purpose: each one would make ordinary chat look technical.
 */
export const TECHNICAL_LEXICON: Readonly<Record<LexiconDomain, readonly string[]>> = {
  programming: [
    "algorithm", "recursion", "recursive", "mutex", "semaphore", "deadlock", "race condition", "thread", "multithreading",
    "concurrency", "concurrent", "async", "asynchronous", "await", "callback", "closure", "coroutine", "goroutine",
    "compiler", "interpreter", "runtime", "garbage collection", "garbage collector", "memory leak", "pointer",
    "reference counting", "heap", "stack overflow", "hash map", "hashmap", "hash table", "linked list", "binary tree",
    "binary search", "red black tree", "b tree", "trie", "graph traversal", "dijkstra", "dynamic programming",
    "memoization", "big o", "time complexity", "space complexity", "api", "rest api", "graphql", "grpc", "endpoint",
    "http", "https", "tcp", "udp", "dns", "tls", "ssl", "websocket", "latency", "throughput", "cache invalidation",
    "database", "sql", "nosql", "query planner", "transaction", "acid", "isolation level", "sharding", "replication",
    "consensus", "raft", "paxos", "distributed system", "microservice", "kubernetes", "docker", "orchestration",
    "load balancer", "reverse proxy", "rate limiter", "typescript", "javascript", "python", "rust", "golang", "java",
    "c++", "kotlin", "haskell", "regex", "regular expression", "serialization", "deserialization", "json", "yaml",
    "protobuf", "schema", "orm", "dependency injection", "design pattern", "singleton", "inheritance", "polymorphism",
    "encapsulation", "generics", "type system", "type inference", "lambda", "higher order function", "monad",
    "functor", "immutable", "immutability", "idempotent", "refactor", "refactoring", "unit test", "integration test",
    "linter", "webpack", "bundler", "react", "node.js", "npm", "git", "rebase", "merge conflict", "segfault",
    "segmentation fault", "buffer overflow", "null pointer", "stack trace", "kernel", "syscall", "system call",
    "file descriptor", "socket", "epoll", "mmap", "virtual memory", "page fault", "cpu", "gpu", "cuda", "simd",
    "vectorization", "cache miss", "branch prediction", "assembly", "bytecode", "jit", "llvm", "oauth", "jwt",
    "authentication", "authorization", "encryption", "hashing", "sha256", "rsa", "aes", "public key", "private key",
    "vulnerability", "sql injection", "xss", "csrf", "quantization", "transformer", "attention mechanism",
    "neural network", "backpropagation", "gradient descent", "embedding", "tokenizer", "fine tuning", "overfitting",
    "regularization", "hyperparameter", "convolution", "lstm", "reinforcement learning", "loss function", "softmax",
    "batch normalization", "kv cache", "llm", "lock free", "memory ordering", "atomic", "ring buffer", "token bucket",
    "sliding window", "redis", "postgres", "postgresql", "mysql", "kafka", "message queue", "pod",     "inner join", "outer join", "palindrome", "left join", "foreign key", "primary key", "index scan", "eventual consistency", "linearizability",
    "operating system", "process scheduler", "context switch", "sorting algorithm", "working directory", "repository", "shell script", "bash", "command line", "environment variable", "virtual machine", "hypervisor", "firmware", "driver", "quicksort", "mergesort",
  ],
  math: [
    "integral", "derivative", "differential equation", "partial differential equation", "eigenvalue", "eigenvector",
    "matrix", "determinant", "linear algebra", "vector space", "topology", "manifold", "homomorphism", "isomorphism",
    "group theory", "polynomial", "logarithm", "exponential", "convergence", "taylor series", "fourier transform",
    "laplace transform", "probability distribution", "bayesian", "bayes theorem", "variance", "covariance",
    "standard deviation", "regression", "least squares", "ridge regression", "hypothesis test", "p value",
    "confidence interval", "markov chain", "stochastic", "combinatorics", "permutation", "prime number",
    "modular arithmetic", "theorem", "lemma", "corollary", "induction", "set theory", "cardinality", "real analysis",
    "complex analysis", "calculus", "convex", "gradient", "jacobian", "hessian", "lagrange multiplier", "orthogonal",
    "inner product", "tensor", "integer programming", "graph theory", "closed form", "invertible", "t test",
    "statistically significant", "statistical significance", "null hypothesis", "asymptotic", "recurrence relation",
  ],
  science: [
    "quantum", "entanglement", "superposition", "wave function", "schrodinger", "relativity", "thermodynamics",
    "entropy", "enthalpy", "kinetic energy", "momentum", "electromagnetic", "maxwell's equations", "maxwell",
    "photon", "electron", "isotope", "molecule", "covalent bond", "oxidation", "catalyst", "stoichiometry", "genome",
    "dna", "rna", "protein folding", "enzyme", "mitochondria", "photosynthesis", "crispr", "gene expression",
    "natural selection", "neuron", "semiconductor", "superconductor", "spectroscopy", "half life", "redshift",
    "black hole", "dark matter", "wave equation", "vacuum permittivity",
  ],
  law: [
    "tort", "negligence", "liability", "statute", "jurisdiction", "plaintiff", "defendant", "contract law",
    "breach of contract", "indemnification", "indemnity", "intellectual property", "copyright", "trademark",
    "patent", "gdpr", "hipaa", "compliance", "due process", "precedent", "case law", "arbitration", "fiduciary duty",
    "habeas corpus", "litigation", "subpoena", "affidavit", "force majeure", "non compete", "nda", "estoppel",
    "enforceable", "right to erasure", "lawful", "lawfully", "data subject", "trade secret", "non solicitation", "data controller", "lawful basis", "clause",
  ],
  finance: [
    "amortization", "depreciation", "ebitda", "discounted cash flow", "dcf", "net present value", "npv", "irr",
    "internal rate of return", "option pricing", "black scholes", "hedge", "hedging", "arbitrage", "liquidity",
    "leverage", "collateral", "yield curve", "dividend", "capm", "volatility", "portfolio", "diversification",
    "balance sheet", "income statement", "cash flow", "accrual", "compound interest", "inflation",
    "monetary policy", "interest rate swap", "securitization", "valuation", "wacc", "capital gains",
    "terminal growth", "ira", "income tax", "tax rate", "tax bracket", "capital gains tax", "401k", "interest rate", "mortgage", "yield to maturity", "basis point", "convexity", "macaulay duration", "modified duration", "coupon rate", "present value", "future value", "annuity", "expected return", "sharpe ratio", "sensitivity analysis",
  ],
  medicine: [
    "diagnosis", "differential diagnosis", "pathophysiology", "pharmacokinetics", "pharmacodynamics",
    "contraindication", "dosage", "antibiotic", "antibody", "antigen", "immune system", "immune response",
    "inflammation", "hypertension", "diabetes", "insulin", "myocardial infarction", "arrhythmia", "atrial fibrillation",
    "chemotherapy", "metastasis", "oncology", "biopsy", "mri", "placebo", "randomized controlled trial",
    "clinical trial", "epidemiology", "prognosis", "comorbidity", "sepsis", "anticoagulant", "anticoagulation",
    "beta blocker", "ssri", "kidney disease", "vaccine", "t cell", "b cell",
    "memory cell", "renal",
  ],
};
