// The one Node API node.ts uses, so the build needs no @types/node. Not emitted.
declare module 'node:fs' {
  export function readFileSync(path: URL): Uint8Array;
}
