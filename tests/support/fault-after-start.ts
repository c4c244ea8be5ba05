// Loaded with `node --import` ahead of the server: on SIGUSR2, which the test sends once the
// server is up, throws from a timer, outside any request, as a bug in a callback would. The
// server must log it and keep serving.

process.on('SIGUSR2', () => {
  setTimeout(() => {
    throw new Error('a fault outside any request (injected by the test)');
  });
});
