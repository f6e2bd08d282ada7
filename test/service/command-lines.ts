/**
 * How the two service managers split the command line the mailer's service
 * files carry, written independently of src/service/ so that tests check the
 * quoting against the reader's rules rather than against itself.
 */

/**
 * systemd's splitting of ExecStart (extract_first_word with quotes and C
 * escapes), then `%%` → `%` and `$$` → `$`: what the process receives as argv.
 */
export function splitExecStart(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    let quote: string | undefined;
    for (; i < line.length; i++) {
      const ch = line[i];
      if (quote === undefined && ch === ' ') break;
      if (ch === '\\') {
        word += line[++i];
      } else if (quote === undefined && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (ch === quote) {
        quote = undefined;
      } else {
        word += ch;
      }
    }
    if (quote !== undefined) throw new Error(`unterminated quote in ${line}`);
    words.push(word.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

/**
 * The Microsoft C runtime's (and CommandLineToArgvW's) splitting of a command
 * line, which node.exe uses for process.argv: 2n backslashes + quote → n
 * backslashes and a quote toggle; 2n+1 → n backslashes and a literal quote.
 */
export function splitWindowsArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) return args;
    let arg = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      if (line[i] === '\\') {
        let n = 0;
        while (line[i] === '\\') (n++, i++);
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) (arg += '"', i++);
        } else arg += '\\'.repeat(n);
      } else if (line[i] === '"') {
        if (quoted && line[i + 1] === '"') (arg += '"', (i += 2));
        else (quoted = !quoted, i++);
      } else arg += line[i++];
    }
    args.push(arg);
  }
}
