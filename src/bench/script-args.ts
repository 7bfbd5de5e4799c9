// `--flag value` arguments of the benchmarks that run as scripts (npx tsx src/bench/….ts).

export function scriptArgs(argv: readonly string[] = process.argv.slice(2)) {
  const get = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (k: string): number | undefined => (get(k) === undefined ? undefined : Number(get(k)));
  return { get, num, has: (k: string) => argv.includes(k) };
}
