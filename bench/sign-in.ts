/**
 * Signs in to the admin through its login form over HTTP, as a browser does
 * (the form's CSRF token, its cookie), and returns the session's cookie
 * header. Used by the benchmarks and the fault tests, which drive real server
 * processes.
 */
export async function signIn(baseUrl: string, email: string, password: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const page = await fetch(`${baseUrl}/admin/login`);
  keep(page);
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!token) throw new Error(`the login page (${page.status}) has no form token`);
  const res = await fetch(`${baseUrl}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
    body: new URLSearchParams({ _csrf: token, email, password }).toString(),
  });
  keep(res);
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  return cookie();
}
