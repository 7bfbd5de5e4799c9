// Generates a deterministic synthetic corpus of documents with one unique fact each, plus paraphrased questions.

export interface CorpusDocument {
  /** Stable id, also used as the ingest source. */
  source: string;
  title: string;
  text: string;
  /** The question asked about this document's fact (worded differently from the text). */
  question: string;
  /** The sentence holding the answer, verbatim in `text`. */
  factSentence: string;
  /** The answer itself (a word or number in factSentence). */
  answer: string;
}

export interface CorpusOptions {
  /** Defaults to 1. */
  seed?: number;
  /** Filler sentences around the fact. Defaults to 14 (about 250-350 tokens per document). */
  fillerSentences?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: fast, deterministic across platforms.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const ONSETS = [
  "b",
  "br",
  "c",
  "d",
  "dr",
  "f",
  "g",
  "gr",
  "h",
  "k",
  "kl",
  "l",
  "m",
  "n",
  "p",
  "qu",
  "r",
  "s",
  "st",
  "t",
  "tr",
  "v",
  "w",
  "z",
  "zh",
  "th",
  "sk",
];
const VOWELS = ["a", "e", "i", "o", "u", "ae", "ia", "ou", "ei"];
const CODAS = ["", "n", "r", "l", "s", "th", "nd", "rk", "st", "m", "x"];

/** Unique pronounceable invented names ("Zorvania", "Blenport"), never repeated within one generator. */
function nameMaker(rand: () => number) {
  const used = new Set<string>();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  return (suffixes: readonly string[]) => {
    for (;;) {
      const syllables = 2 + Math.floor(rand() * 2);
      let w = "";
      for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(VOWELS) + (i === syllables - 1 ? "" : pick(CODAS));
      w += pick(suffixes);
      const name = w[0].toUpperCase() + w.slice(1);
      if (!used.has(name) && name.length >= 5) {
        used.add(name);
        return name;
      }
    }
  };
}

interface FactTemplate {
  build(
    names: (suffixes: readonly string[]) => string,
    rand: () => number,
  ): { title: string; fact: string; question: string; answer: string; subject: string };
}

const PLACE = ["ia", "land", "mark", "istan", "ora", "ovia"] as const;
const TOWN = ["port", "holt", "burg", "ford", "haven", "grad", "mouth", "wick"] as const;
const PERSON = ["", "son", "ez", "ov", "ani", "elli"] as const;
const THING = ["ite", "ium", "on", "ex", "ar"] as const;

const TEMPLATES: FactTemplate[] = [
  {
    build: (nm) => {
      const country = nm(PLACE);
      const city = nm(TOWN);
      return {
        subject: country,
        title: `${country}`,
        fact: `The capital of the fictional country ${country} is ${city}.`,
        question: `Which city is the capital of ${country}?`,
        answer: city,
      };
    },
  },
  {
    build: (nm, r) => {
      const person = `${nm(PERSON)} ${nm(PERSON)}`;
      const device = nm(THING);
      const year = 1700 + Math.floor(r() * 300);
      return {
        subject: device,
        title: `The ${device}`,
        fact: `The ${device} engine was invented by ${person} in ${year}.`,
        question: `Who created the ${device} engine?`,
        answer: person.split(" ")[1],
      };
    },
  },
  {
    build: (nm) => {
      const river = nm(["", "a", "el"]);
      const sea = nm(["", "ic", "ean"]);
      return {
        subject: river,
        title: `${river} river`,
        fact: `The ${river} river empties into the ${sea} Sea after a long journey.`,
        question: `Into which sea does the ${river} flow?`,
        answer: sea,
      };
    },
  },
  {
    build: (nm) => {
      const company = nm(["corp", "tech", "ware", "works"]);
      const city = nm(TOWN);
      return {
        subject: company,
        title: `${company}`,
        fact: `${company} has its headquarters in the city of ${city}.`,
        question: `Where is ${company} based?`,
        answer: city,
      };
    },
  },
  {
    build: (nm, r) => {
      const element = nm(["ium", "on", "ine"]);
      const z = 120 + Math.floor(r() * 400);
      return {
        subject: element,
        title: `${element}`,
        fact: `The synthetic element ${element} has atomic number ${z}.`,
        question: `What is the atomic number of ${element}?`,
        answer: String(z),
      };
    },
  },
  {
    build: (nm, r) => {
      const peak = nm(["", "horn", "berg", "peak"]);
      const h = 2000 + Math.floor(r() * 6000);
      return {
        subject: peak,
        title: `Mount ${peak}`,
        fact: `Mount ${peak} rises ${h} metres above sea level.`,
        question: `How tall is ${peak}?`,
        answer: String(h),
      };
    },
  },
  {
    build: (nm) => {
      const festival = nm(["fest", "mas", "tide"]);
      const fruit = nm(["berry", "fruit", "nut"]);
      return {
        subject: festival,
        title: `${festival} festival`,
        fact: `During the ${festival} festival people traditionally eat ${fruit} pies.`,
        question: `What food is eaten at ${festival}?`,
        answer: fruit,
      };
    },
  },
  {
    build: (nm, r) => {
      const ship = nm(["", "a", "ia"]);
      const crew = 20 + Math.floor(r() * 900);
      return {
        subject: ship,
        title: `The ship ${ship}`,
        fact: `The research vessel ${ship} carries a crew of ${crew} sailors.`,
        question: `How many people serve aboard the ${ship}?`,
        answer: String(crew),
      };
    },
  },
];

/** Generic sentences with slots for other invented names: topical noise and hard negatives. */
const FILLERS = [
  "Travellers from {X} often remark on the mild weather and the crowded markets.",
  "Historians still debate the origins of the old trade routes near {X}.",
  "The annual report mentions rising costs for transport and storage.",
  "Local newspapers published several articles about the new railway line to {X}.",
  "Many visitors come for the museums, the parks and the long sandy beaches.",
  "A committee was formed to review the budget for public libraries.",
  "The population has grown steadily over the last three decades.",
  "Farmers in the valley grow wheat, barley and a variety of vegetables.",
  "Engineers from {X} inspected the bridge and recommended repairs.",
  "Winters are cold and dry, while summers bring frequent thunderstorms.",
  "The university offers courses in medicine, law and engineering.",
  "Fishing boats leave the harbour before dawn and return at midday.",
  "A small museum displays tools, maps and letters from the early settlers.",
  "Critics praised the orchestra of {X} for its ambitious new programme.",
  "The central square is surrounded by cafés, shops and a clock tower.",
  "Several dialects are spoken, and most residents understand at least two languages.",
  "Road traffic has increased since the opening of the coastal highway.",
  "The council approved a plan to plant ten thousand trees along the river.",
  "Scholars in {X} catalogued thousands of manuscripts last year.",
  "Prices for housing have doubled in the past fifteen years.",
  "The football club won the regional championship after a dramatic final.",
  "Tourists are advised to carry water and sun protection in the summer.",
  "The observatory on the hill is open to the public on clear nights.",
  "Merchants once traded salt, copper and wool along the northern road.",
];

/** Builds `count` documents (deterministic for a seed), cycling through the fact templates. */
export function generateRagCorpus(count: number, options: CorpusOptions = {}): CorpusDocument[] {
  const rand = rng(options.seed ?? 1);
  const names = nameMaker(rand);
  const fillerCount = options.fillerSentences ?? 14;
  const distractorNames: string[] = [];
  const docs: CorpusDocument[] = [];
  for (let i = 0; i < count; i++) {
    const t = TEMPLATES[i % TEMPLATES.length].build(names, rand);
    const sentences: string[] = [];
    for (let k = 0; k < fillerCount; k++) {
      const other =
        distractorNames.length > 0 ? distractorNames[Math.floor(rand() * distractorNames.length)] : names(PLACE);
      sentences.push(FILLERS[Math.floor(rand() * FILLERS.length)].replace("{X}", other));
    }
    // The fact sits at a random position so it is not always at the start of the first chunk.
    const at = Math.floor(rand() * (sentences.length + 1));
    sentences.splice(at, 0, t.fact);
    const paragraphs: string[] = [];
    for (let k = 0; k < sentences.length; k += 5) paragraphs.push(sentences.slice(k, k + 5).join(" "));
    docs.push({
      source: `corpus/${i}`,
      title: t.title,
      text: `${t.title}\n\n${paragraphs.join("\n\n")}\n`,
      question: t.question,
      factSentence: t.fact,
      answer: t.answer,
    });
    // Subjects of earlier documents reappear as noise in later ones: lexical matches that are not the answer.
    distractorNames.push(t.subject);
  }
  return docs;
}
