// One text's tokens as the item bytes the gateway sends a text classifier's page: the token ids,
// then as many token type ids, each a little-endian int32. The attention mask is not sent: it is
// 1 for every token sent and 0 for the padding the page adds. Both sides import this file.

export interface TokenItem {
  ids: Int32Array;
  typeIds: Int32Array;
}

export function encodeTokenItem(ids: readonly number[], typeIds: readonly number[]): Uint8Array {
  if (typeIds.length !== ids.length) throw new RangeError(`${ids.length} token ids but ${typeIds.length} token type ids`);
  const bytes = new Uint8Array(ids.length * 8);
  const view = new DataView(bytes.buffer);
  ids.forEach((id, i) => view.setInt32(i * 4, id, true));
  typeIds.forEach((t, i) => view.setInt32((ids.length + i) * 4, t, true));
  return bytes;
}

/** The tokens of an item; a RangeError for bytes that are not a whole number of tokens, or no token at all. */
export function decodeTokenItem(bytes: Uint8Array): TokenItem {
  if (bytes.length === 0 || bytes.length % 8 !== 0) throw new RangeError(`an item of ${bytes.length} bytes is not a text's tokens (8 bytes a token, at least one)`);
  const n = bytes.length / 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids = new Int32Array(n);
  const typeIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = view.getInt32(i * 4, true);
    typeIds[i] = view.getInt32((n + i) * 4, true);
  }
  return { ids, typeIds };
}
