// A real OpenID Connect provider for the tests (panva/oidc-provider, OpenID Certified), with a small
// sign-in form in place of a real identity store. Configured by one JSON argument:
//   node provider.js '{"port": 9000, "clients": [...], "accounts": {"id": {"password": "...", "claims": {...}}}}'
// It prints "ready <issuer>" once it listens.
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;

const provider = new Provider(issuer, {
  clients: config.clients,
  findAccount: async (ctx, id) => accounts[id] && {
    accountId: id,
    claims: async () => ({ sub: id, ...accounts[id].claims }),
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['socialcare-test-provider'] },
  ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
});
provider.proxy = true;

const page = (uid, message) => `<!doctype html><title>Sign in</title>
<form method="post" action="/interaction/${uid}/login">
${message ? `<p class="error">${message}</p>` : ''}
<input name="login" autocomplete="username"><input name="password" type="password"><button>Sign in</button></form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!m) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = page(m[1]);
    return undefined;
  }
  const form = await readForm(ctx.req);
  const account = accounts[form.login];
  if (!account || account.password !== form.password) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = page(m[1], 'Wrong login or password');
    return undefined;
  }
  const grant = new provider.Grant({ accountId: form.login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const to = await provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId: form.login }, consent: { grantId },
  }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
  return undefined;
});

http.createServer(provider.callback()).listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
