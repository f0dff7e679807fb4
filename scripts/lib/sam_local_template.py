"""Writes template.yaml as `sam local start-api` runs it here: the HTTP functions' code is
a folder holding the debug binary as `bootstrap` (no build), x86_64, the API on the `prod`
stage, and each function's variables set to local services instead of secrets' ARNs.

Usage: python sam_local_template.py template.yaml CODE_DIR DATABASE_URL SES_URL PRIVATE PUBLIC
"""
import json
import os
import secrets
import sys
import urllib.parse

from samtranslator.yaml_helper import yaml_parse

HTTP = {"AuthFunction": "auth", "OrgsFunction": "orgs", "InvitationsFunction": "invitations", "UsersFunction": "users"}
SIGNING = {"AuthFunction", "InvitationsFunction"}


def main(path, code_dir, database_url, ses_url, private_key, public_key):
    # One sealing key for this local stack's functions, as the stack's secret would be.
    mfa_key = secrets.token_urlsafe(32)
    # Claimed domains are looked up at the host the containers reach, on a port where nothing
    # answers: a lookup fails at once and never leaves this machine.
    dns = urllib.parse.urlparse(database_url).hostname + ":9"
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # Only the HTTP functions serve start-api; the mailer, migrate and the webhook sender have
    # no route (without the sender, its schedule's work waits: start-api runs no schedule).
    for name in ("MailerFunction", "MigrateFunction", "SenderFunction", "SenderInvokePolicy", "SenderLogs"):
        template["Resources"].pop(name)
    for name in list(template["Resources"]):
        if name.startswith("Mailer") and template["Resources"][name]["Type"] == "AWS::Logs::MetricFilter":
            template["Resources"].pop(name)
    template["Parameters"]["StageName"]["Default"] = "prod"
    for param in template["Parameters"].values():
        param.setdefault("Default", "local")
    for name, folder in HTTP.items():
        props = template["Resources"][name]["Properties"]
        template["Resources"][name].pop("Metadata", None)
        props["CodeUri"] = os.path.join(code_dir, folder)
        props["Architectures"] = ["x86_64"]
        props.pop("ReservedConcurrentExecutions", None)
        props["Policies"] = [p for p in props.get("Policies", []) if p != {"Ref": "SenderInvokePolicy"}]
        env = {
            "DATABASE_URL": database_url,
            "DATABASE_POOL_SIZE": "2",
            "JWT_PUBLIC_KEY": public_key,
            "MAIL_TRANSPORT": "ses",
            "AWS_ENDPOINT_URL_SES": ses_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "MAIL_FROM": "Identity <no-reply@identity.test>",
            "APP_BASE_URL": "https://app.identity.test",
            "ARGON2_MEMORY_KIB": "1024",
            "ARGON2_ITERATIONS": "1",
            "LOG_FORMAT": "json",
            "DOMAIN_DNS_SERVER": dns,
            "DOMAIN_DNS_TIMEOUT_MS": "1000",
        }
        if name in SIGNING:
            env["JWT_PRIVATE_KEY"] = private_key
        if name in SIGNING or name in ("UsersFunction", "OrgsFunction"):
            env["MFA_ENCRYPTION_KEY"] = mfa_key
        props["Environment"] = {"Variables": env}
    template["Globals"]["Function"].pop("Environment", None)
    template["Globals"]["Function"].pop("VpcConfig", None)
    json.dump(template, sys.stdout, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:7])
