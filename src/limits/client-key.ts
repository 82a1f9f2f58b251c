import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

// Both the respondent's burst limit and the sign-in limit count per client
// without ever keeping an address: a client is its IPv4 address or the /64 of
// its IPv6 one (which one household or machine holds), hashed under a salt
// that lives only in this process's memory.

/** What identifies a client for the limits: an IPv4 address, or the /64 of an IPv6 one. */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]?.split('::') ?? [];
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The client of an address, hashed under `salt`: without the salt it cannot be tied back to the address. */
export function hashedClient(salt: Buffer, ip: string): string {
  return createHmac('sha256', salt).update(clientKey(ip)).digest('base64url');
}
