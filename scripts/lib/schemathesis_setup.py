"""Prepares a schemathesis run against a fresh `identity serve`: two users, each owning an
org, and the files schemathesis reads (a Web Fuzzing Commons auth file naming them as peers,
so object_level_authorization compares what each may read, and schemathesis.toml).

Usage: schemathesis_setup.py API_URL OUT_DIR
"""

import json
import sys
import urllib.request

PASSWORD = "correct horse battery"

# Operations whose schema-valid requests may still be refused with 422 or 410, because
# validity depends on what the server holds, which no schema can say: mailed tokens, cursors
# the server issued, the caller's current password, role and permission names an org defines.
STATEFUL_VALIDITY = [
    "^/auth/verify-email$",
    "^/auth/password/reset$",
    "^/invitations/(accept|decline|preview)$",
    "^/me/password$",
    # The current password (DELETE /me, POST /me/email), a mailed email-change token, and a
    # PATCH /me naming a field the user may not set (refused, not ignored).
    "^/me$",
    "^/me/email$",
    "^/auth/email/confirm$",
    # Session ids are the server's: the invitation id the {id} parameter holds is none.
    "^/me/sessions/\\{id\\}$",
    "^/me/(organizations|sessions)$",
    "^/orgs$",
    "^/orgs/\\{org\\}/(members|audit-log|invitations)$",
    "^/orgs/\\{org\\}/members/\\{user\\}/roles$",
    "^/orgs/\\{org\\}/roles(/\\{role\\})?$",
    # API keys: permission names the caller holds, an expiry still in the future, key ids the
    # server issued, and keys this run already revoked or rotated (409).
    "^/orgs/\\{org\\}/api-keys(/\\{id\\}(/rotate)?)?$",
    # OAuth clients: the same, plus jwks the server must check, secrets it issued, the two-secret
    # ceiling and the last secret kept (409); the platform's clients are a platform admin's.
    "^/orgs/\\{org\\}/clients(/\\{client_id\\}(/secrets(/\\{secret_id\\})?)?)?$",
    "^/oauth2/clients(/\\{client_id\\}(/secrets(/\\{secret_id\\})?)?)?$",
    # Webhook endpoints: URLs the server must find public (https, a DNS name that is no
    # internal one), event types it knows, cursors it issued, deliveries it made (retrying a
    # pending one is 409); the platform's are a platform admin's.
    "^(/orgs/\\{org\\})?/webhooks(/\\{webhook_id\\}(/rotate-secret|/test|/deliveries(/\\{delivery_id\\}/retry)?)?)?$",
    # Domains: names the server must find claimable (no public suffix, IP or consumer
    # domain), a second claim of one domain (409), claims it issued.
    "^/orgs/\\{org\\}/domains(/\\{domain_id\\}(/verify)?)?$",
    # SSO connections: an issuer whose discovery document the server must fetch and find
    # naming it (here no name resolves), `active` only with a verified domain, ids it issued.
    "^/orgs/\\{org\\}/sso/connections(/\\{connection_id\\}(/test)?)?$",
    "^/users(/\\{id\\})?$",
    # The feed's `after` must name an event of the feed, and `types` known event types.
    "^(/orgs/\\{org\\})?/events$",
    "^/users/\\{id\\}/sessions(/\\{sid\\})?$",
    # Second factors: a fresh password or code of the server's, factor ids it issued, an
    # mfa_token from a sign-in; and an admin's reset, which alice and bob may not do.
    "^/me/mfa(/totp|/totp/\\{id\\}/verify|/\\{id\\}|/recovery-codes)?$",
    "^/auth/mfa/verify$",
    "^/users/\\{id\\}/mfa$",
    # Invitations this run already revoked or accepted answer 410.
    "^/orgs/\\{org\\}/invitations/\\{id\\}/(resend|revoke)$",
    # The OpenID Provider: a client_id the server registered with one of its redirect URIs
    # exactly (else a page, 422, and never a redirect), an ID token it signed as the hint.
    "^/oauth2/(authorize|logout)$",
    # A PATCH body naming no field the API knows changes nothing and is refused; a default_role
    # must name a role the org has.
    "^/orgs/\\{org\\}$",
]


def call(api, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as res:
        text = res.read()
        return json.loads(text) if text else None


def user(api, name):
    email = f"{name}@example.com"
    call(api, "POST", "/auth/register", {"email": email, "password": PASSWORD, "name": name.title()})
    token = call(api, "POST", "/auth/login", {"email": email, "password": PASSWORD})["access_token"]
    me = call(api, "GET", "/me", token=token)
    org = call(api, "POST", "/orgs", {"name": f"{name.title()} Inc"}, token)
    return {"token": token, "id": me["id"], "org": org["id"]}


def main():
    api, out = sys.argv[1], sys.argv[2]
    alice, bob = user(api, "alice"), user(api, "bob")
    call(api, "POST", f"/orgs/{alice['org']}/roles",
         {"name": "support", "permissions": ["members:read"]}, alice["token"])
    invitation = call(api, "POST", f"/orgs/{alice['org']}/invitations",
                      {"email": "carol@example.com", "roles": ["member"]}, alice["token"])
    client = call(api, "POST", f"/orgs/{alice['org']}/clients",
                  {"name": "backend", "permissions": ["org:read"]}, alice["token"])
    domain = call(api, "POST", f"/orgs/{alice['org']}/domains", {"domain": "alice.example.com"}, alice["token"])
    auth = {"auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": "Bearer " + who["token"]}]}
        for name, who in (("alice", alice), ("bob", bob))
    ]}
    with open(f"{out}/wfc.json", "w") as f:
        json.dump(auth, f)
    lines = [
        "[auth.wfc]",
        'path = "wfc.json"',
        'peers = ["alice", "bob"]',
        "",
        "# Path parameters point at alice's objects: bob's requests for them must fail.",
        "[parameters]",
        f'org = "{alice["org"]}"',
        f'user = "{alice["id"]}"',
        f'id = "{invitation["id"]}"',
        'role = "support"',
        f'client_id = "{client["client_id"]}"',
        f'secret_id = "{client["secrets"][0]["id"]}"',
        f'domain_id = "{domain["id"]}"',
    ]
    for pattern in STATEFUL_VALIDITY:
        lines += [
            "",
            "[[operations]]",
            f"include-path-regex = '{pattern}'",
            "[operations.checks.positive_data_acceptance]",
            'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "422", "429"]',
        ]
    with open(f"{out}/schemathesis.toml", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
