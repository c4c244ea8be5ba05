// Why a model archive cannot be used: its content's fault, answered 400 at registration and
// logged at start. The message names the problem and never a path outside the store.

export class ArchiveRefused extends Error {}
