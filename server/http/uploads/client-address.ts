// The client a connection is counted against, from its remote address: an IPv4 address, or an
// IPv6 /64. One subscriber is given a whole /64 (and a host picks a new address in it at will), so
// counting IPv6 clients by full address would let one client be thousands. An IPv4 address seen
// through a dual-stack socket (::ffff:192.0.2.1) is that IPv4 client. Pure.

import { isIPv4, isIPv6 } from 'node:net';

export function clientOf(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, ''); // a link-local address's zone
  if (isIPv4(bare) || !isIPv6(bare)) return bare;
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const groupsOf = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const groups = [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}
