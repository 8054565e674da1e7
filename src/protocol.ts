/**
 * Splits a heartline text frame into its type, its header fields and its payload: the header is
 * the text before the first LF, fields are separated by single spaces. `rest` is the header after
 * the type (for `welcome {...}`, the JSON). No JSON is parsed here.
 */
export const parseFrame = (text: string): { type: string; fields: string[]; rest: string; payload: string | undefined } => {
  const nl = text.indexOf('\n');
  const head = nl < 0 ? text : text.slice(0, nl);
  const sp = head.indexOf(' ');
  const rest = sp < 0 ? '' : head.slice(sp + 1);
  return { type: sp < 0 ? head : head.slice(0, sp), fields: rest.split(' '), rest, payload: nl < 0 ? undefined : text.slice(nl + 1) };
};

/** `-` stands for "absent"; other values are percent-encoded (a malformed escape is kept as sent). */
export const field = (v: string | undefined): string | undefined => {
  if (!v || v === '-') return undefined;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};
