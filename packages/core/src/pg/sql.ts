/** SQL text for names and values we splice in ourselves (catalog names, labels, settings). */

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A string literal; every session we open has `standard_conforming_strings = on`. */
export const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

export const qname = (schema: string, name: string): string => `${ident(schema)}.${ident(name)}`;

/** A dollar-quote tag (`$cobalt$`, `$cobalt1$`, ...) that does not occur in `body`. */
export function dollarQuote(body: string): string {
  let tag = "$cobalt$";
  for (let i = 1; body.includes(tag); i++) tag = `$cobalt${i}$`;
  return tag;
}
