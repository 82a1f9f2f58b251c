// The load generator, run in its own process (pinned to its own core by
// bench/run.ts): autocannon against 127.0.0.1 only, bounded in time. Prints
// one JSON object with the figures on standard output.
import autocannon from 'autocannon';

type Context = Record<string, unknown> & { cookies?: Record<string, string>; csrf?: string; step?: number };

const [mode = '', base = '', ...rest] = process.argv.slice(2);
const options = Object.fromEntries(
  rest.map((arg) => [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]),
);
const duration = Number(options.duration ?? 10);
const connections = Number(options.connections ?? 50);

if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error(`load only goes to 127.0.0.1, not "${base}"`);

const FORM = 'application/x-www-form-urlencoded';
const cookieHeader = (ctx: Context) =>
  Object.entries(ctx.cookies ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** Keeps cookies and the page's CSRF token, as a browser keeps them. */
function remember(body: string, ctx: Context, headers: Record<string, string | string[]>) {
  const set = headers['set-cookie'];
  for (const line of Array.isArray(set) ? set : set ? [set] : []) {
    const [pair = ''] = line.split(';');
    const at = pair.indexOf('=');
    ctx.cookies = { ...ctx.cookies, [pair.slice(0, at)]: pair.slice(at + 1) };
  }
  const token = /name="_csrf" value="([^"]+)"/.exec(body);
  if (token) ctx.csrf = token[1];
}

const form = (ctx: Context, fields: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  if (ctx.csrf) params.append('_csrf', ctx.csrf);
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
  return params.toString();
};

type Step = (ctx: Context) => { method: 'GET' | 'POST'; path: string; fields?: Record<string, string | string[]> };

const CATEGORIES = ['violence', 'property', 'town_centre', 'asb', 'substance'];
const TOP3: Record<string, string[]> = {
  violence: ['youth_violence', 'robbery', 'gun_knife_crime'],
  property: ['residential_burglary', 'shed_garage'],
  town_centre: ['groups_gathering', 'evening_violence', 'robbery'],
  asb: ['fly_tipping', 'drugs', 'noisy_rowdy'],
  substance: ['drug_dealing', 'class_a'],
};
const pageOf = (category: string) => category.replace('_', '-');

/**
 * One resident's whole journey, along branches chosen at random: three
 * different concerns, each with its Top 3 and the victim question (a "yes"
 * on the third leads to "did you report it"), About you, postcode, check,
 * send, thank you. Every page is fetched (GET) and then answered (POST).
 */
function journeySteps(): Step[] {
  const s = '/s/csp-2019';
  const visit = (page: string, fields: (ctx: Context) => Record<string, string | string[]>): Step[] => [
    () => ({ method: 'GET', path: `${s}/${page}` }),
    (ctx) => ({ method: 'POST', path: `${s}/${page}`, fields: fields(ctx) }),
  ];
  const concern = (rank: number): Step[] => {
    const category = (ctx: Context) => (ctx.concerns as string[])[rank - 1] as string;
    return [
      ...visit(`concern-${rank}`, (ctx) => ({ [`concern_${rank}`]: category(ctx) })),
      // The follow-up's URL depends on the category, so it is built when the step runs.
      (ctx) => ({ method: 'GET', path: `${s}/concern-${rank}-${pageOf(category(ctx))}` }),
      (ctx) => ({
        method: 'POST',
        path: `${s}/concern-${rank}-${pageOf(category(ctx))}`,
        fields: {
          [`concern_${rank}_top3`]: TOP3[category(ctx)] as string[],
          [`concern_${rank}_victim`]: rank === 3 ? 'yes' : 'no',
        },
      }),
    ];
  };
  return [
    (ctx) => {
      const shuffled = [...CATEGORIES].sort(() => Math.random() - 0.5);
      for (const key of Object.keys(ctx)) delete ctx[key];
      ctx.concerns = shuffled.slice(0, 3);
      return { method: 'GET', path: `${s}?src=facebook` };
    },
    () => ({ method: 'POST', path: `${s}/start`, fields: { src: 'facebook' } }),
    ...visit('area', () => ({ area: Math.random() < 0.7 ? 'gravesham' : 'dartford' })),
    ...concern(1),
    ...concern(2),
    ...concern(3),
    (ctx) => ({ method: 'GET', path: `${s}/concern-3-${pageOf((ctx.concerns as string[])[2] as string)}-reported` }),
    (ctx) => ({
      method: 'POST',
      path: `${s}/concern-3-${pageOf((ctx.concerns as string[])[2] as string)}-reported`,
      fields: { concern_3_reported: 'no' },
    }),
    ...visit('about-you', () => ({ gender: 'female', age: '45_54', ethnicity: 'white_british', disability: 'no' })),
    ...visit('postcode', () => ({ postcode: 'DA12 1AU' })),
    ...visit('check-answers', () => ({})),
    () => ({ method: 'GET', path: `${s}/thank-you` }),
  ];
}

/**
 * A steady stream of one question page's POSTs, each respondent (connection)
 * with its own draft: Start once, then answer the area page again and again,
 * changing the answer each time so that every save really moves the counts.
 * (autocannon clears a connection's context when its list of requests comes
 * round again, so the list is long: one Start per QUESTION_POSTS saves.)
 */
const QUESTION_POSTS = 500;
function questionPostSteps(): Step[] {
  const s = '/s/csp-2019';
  const answer =
    (i: number): Step =>
    () => ({
      method: 'POST',
      path: `${s}/area`,
      fields: { area: i % 2 ? 'gravesham' : 'dartford' },
    });
  return [
    () => ({ method: 'GET', path: s }),
    () => ({ method: 'POST', path: `${s}/start`, fields: {} }),
    () => ({ method: 'GET', path: `${s}/area` }),
    ...Array.from({ length: QUESTION_POSTS }, (_, i) => answer(i)),
  ];
}

function stepsToRequests(steps: Step[]) {
  return steps.map((step) => ({
    setupRequest: (req: Record<string, unknown>, ctx: Context) => {
      const r = step(ctx);
      // Residents arrive from many addresses, through the load balancer (TRUST_PROXY=1): a
      // loopback-range address per respondent keeps the per-client burst limit out of the way.
      ctx.ip ??= `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 250)}`;
      const headers: Record<string, string> = { cookie: cookieHeader(ctx), 'x-forwarded-for': ctx.ip as string };
      if (r.method === 'POST') headers['content-type'] = FORM;
      return {
        ...req,
        method: r.method,
        path: r.path,
        headers,
        body: r.method === 'POST' ? form(ctx, r.fields ?? {}) : undefined,
      };
    },
    onResponse: (_status: number, body: string, ctx: Context, headers: Record<string, string | string[]>) =>
      remember(body, ctx, headers),
  }));
}

async function run() {
  let requests: ReturnType<typeof stepsToRequests> | undefined;
  let extra: Record<string, unknown> = {};
  if (mode === 'journeys') requests = stepsToRequests(journeySteps());
  else if (mode === 'question-post') requests = stepsToRequests(questionPostSteps());
  else if (mode === 'baseline-post')
    // autocannon takes the path from the URL (a top-level `path` is ignored: that posted to `/`, a 404).
    extra = {
      url: `${base}/submit`,
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'area=dartford&concern_1=asb',
    };
  else if (mode === 'get') extra = { url: `${base}${options.path ?? '/'}`, headers: { cookie: options.cookie ?? '' } };
  else throw new Error(`unknown mode ${mode}`);

  const result = await autocannon({
    url: base,
    connections,
    duration,
    ...(requests ? { requests } : {}),
    ...extra,
  } as autocannon.Options);
  const journeys = mode === 'journeys' ? Math.floor(result.requests.total / journeySteps().length) : undefined;
  process.stdout.write(
    `${JSON.stringify({
      mode,
      connections,
      duration,
      requests: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      status: { '2xx': result['2xx'], '3xx': result['3xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
      // 503 is the load shedding's "very busy, try again" page; any other 5xx is a fault.
      codes: Object.fromEntries(
        Object.entries(
          (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
        ).map(([code, stat]) => [code, stat.count]),
      ),
      journeysPerSecond: journeys !== undefined ? journeys / duration : undefined,
      stepsPerJourney: mode === 'journeys' ? journeySteps().length : undefined,
    })}\n`,
  );
}

await run();
