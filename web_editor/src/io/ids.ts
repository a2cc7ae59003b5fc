/** A fresh node id in Node-RED's style: 16 lowercase hex digits from a CSPRNG. */
export function newId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** A fresh id that is not in `taken` (collisions are astronomically unlikely, but cheap to rule out). */
export function freshId(taken: Set<string>): string {
  let id = newId();
  while (taken.has(id)) id = newId();
  taken.add(id);
  return id;
}
