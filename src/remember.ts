/** Reads or writes the page session's memory of what works for a URL (sessionStorage throws in sandboxed frames). */
export const remember = (key: string, value?: string): unknown => {
  try {
    const s = (globalThis as { sessionStorage?: Storage }).sessionStorage;
    return s && (value ? s.setItem(key, value) : s.getItem(key));
  } catch {
    return undefined;
  }
};
