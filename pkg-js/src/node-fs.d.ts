// The one Node API node.ts uses, so the build needs no @types/node. Not emitted.
declare module 'node:fs/promises' {
  export function readFile(path: string | URL): Promise<Uint8Array<ArrayBuffer>>;
}
