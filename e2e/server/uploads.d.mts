// Types for what TypeScript code (test/upload.test.ts) imports from the reference server.
/** The per-chunk CHECK of PROTOCOL.md section 7, as 16 lowercase hex digits. */
export function chunkCheck(bytes: Uint8Array): string;
