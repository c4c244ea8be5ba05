// Loaded with `node --import` ahead of the server: throws from a timer, outside any request, as
// a bug in a callback would. The server must log it and keep serving.

setTimeout(
  () => {
    throw new Error('a fault outside any request (injected by the test)');
  },
  Number(process.env['FAULT_AFTER_MS'] ?? 2000),
);
