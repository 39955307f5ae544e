// A real OpenID Connect provider for the portal's sign-in test: panva/node-oidc-provider (an
// OpenID Certified implementation) with its development login and consent pages.
// PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI and ACCOUNTS (JSON: login -> claims) come from
// the environment. Any password signs in a login listed in ACCOUNTS.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.ACCOUNTS);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  scopes: ['openid', 'profile', 'email', 'zhoushan'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email'],
    zhoushan: ['zs_role', 'zs_county', 'zs_centers'],
  },
  conformIdTokenClaims: false, // the role, county and centers claims ride in the ID token
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['portal-test-only'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
