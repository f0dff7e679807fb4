"""Checks, on the SAM-expanded template, that each function gets only the settings and the
permissions it uses, that no secret lands in an environment variable, and that every path and
method reaches a function (a $default route, ANY on each route).

Usage: python template_access.py expanded.json
"""
import json
import sys

COMMON = {"DATABASE_URL", "DATABASE_SECRET_ARN", "DATABASE_IAM_AUTH", "DATABASE_POOL_SIZE", "LOG_FORMAT"}
VERIFY = {"JWT_PUBLIC_KEY", "JWT_PREVIOUS_PUBLIC_KEYS", "JWT_ISSUER", "JWT_AUDIENCE", "DATABASE_HOST", "API_BASE_PATH"}
# The functions that enrol or check second factors read the sealing key's secret.
MFA_KEY = {"MFA_ENCRYPTION_KEY_SECRET_ARN"}
SIGN = VERIFY | {"JWT_PRIVATE_KEY_SECRET_ARN"} | MFA_KEY
MAIL = {"MAIL_TRANSPORT", "MAIL_FROM", "APP_BASE_URL"}
# What renders pages or mails wears the product's brand.
BRAND = {"BRAND_NAME", "BRAND_LOGO_URL", "BRAND_ACCENT_COLOR"}
# The functions that serve the hosted pages say where their Continue button leads.
PAGES = {"PAGES_RETURN_URL"}
DB = {"Fn::If": ["NeedsDatabasePolicy", {"Ref": "DatabaseAccessPolicy"}, {"Ref": "AWS::NoValue"}]}
SES = {"Ref": "SesSendPolicy"}
JWT = {"Ref": "JwtKeyReadPolicy"}
MFA = {"Ref": "MfaKeyReadPolicy"}
# The HTTP functions hand off to the webhook sender after a commit that queues a delivery.
HANDOFF = {"WEBHOOK_SENDER_FUNCTION"}
INVOKE = {"Ref": "SenderInvokePolicy"}

# function: (its variables, the policies it holds besides the basic execution ones)
EXPECTED = {
    "AuthFunction": (COMMON | SIGN | MAIL | PAGES | BRAND | HANDOFF, [SES, JWT, MFA, INVOKE, DB]),
    "InvitationsFunction": (COMMON | SIGN | MAIL | PAGES | BRAND | HANDOFF, [SES, JWT, MFA, INVOKE, DB]),
    # Orgs seals webhook signing secrets with the MFA key.
    "OrgsFunction": (COMMON | VERIFY | MFA_KEY | HANDOFF, [MFA, INVOKE, DB]),
    "UsersFunction": (COMMON | VERIFY | MFA_KEY | HANDOFF, [MFA, INVOKE, DB]),
    # The sender opens the signing secrets and reaches the database, nothing else.
    "SenderFunction": (COMMON | MFA_KEY | {"DATABASE_HOST"}, [MFA, DB]),
    "MailerFunction": (COMMON | MAIL | BRAND | {"DATABASE_HOST", "MAILER_RUN_BUDGET_SECS"}, [SES, DB]),
    # Migrate connects to the instance (no DATABASE_HOST), and signs and mails nothing.
    "MigrateFunction": (COMMON, [DB]),
}
# Each secret readable is named by its own parameter, never a wildcard.
SECRET_READS = {
    "JwtKeyReadPolicy": [{"Ref": "JwtKeySecretArn"}],
    "MfaKeyReadPolicy": [{"Ref": "MfaKeySecret"}],
    "DatabaseAccessPolicy": [{"Ref": "DatabaseSecretArn"}],
}
BASIC = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
}


def statements(document):
    for item in document["Statement"]:
        if "Fn::If" in item:
            item = item["Fn::If"][1]
        yield item


def main(path):
    with open(path, encoding="utf-8") as f:
        resources = json.load(f)["Resources"]
    failures = []
    for name, (variables, policies) in EXPECTED.items():
        function = resources[name]["Properties"]
        got = function["Environment"]["Variables"]
        if set(got) != variables:
            failures.append(f"{name}: variables {sorted(set(got) - variables)} extra, {sorted(variables - set(got))} missing")
        for key, value in got.items():
            if "resolve:secretsmanager" in json.dumps(value):
                failures.append(f"{name}: {key} is a dynamic reference, which puts the secret in the environment")
        role = resources[function["Role"]["Fn::GetAtt"][0]]["Properties"]
        attached = [p for p in role.get("ManagedPolicyArns", []) if not (isinstance(p, str) and p in BASIC)]
        if attached != policies or role.get("Policies"):
            failures.append(f"{name}: policies {json.dumps(attached)} {json.dumps(role.get('Policies'))}")
    for policy, allowed in SECRET_READS.items():
        for statement in statements(resources[policy]["Properties"]["PolicyDocument"]):
            if statement["Action"] == "secretsmanager:GetSecretValue" and [statement["Resource"]] != allowed:
                failures.append(f"{policy}: GetSecretValue on {json.dumps(statement['Resource'])}")
    # Every unknown path reaches the users function ($default route), and every route takes any
    # method, so a wrong one reaches its function's problem+json 405 rather than API Gateway's 404.
    paths = resources["Api"]["Properties"]["Body"]["paths"]
    default = paths.get("$default", {}).get("x-amazon-apigateway-any-method", {})
    if "UsersFunction.Arn" not in json.dumps(default.get("x-amazon-apigateway-integration", {})):
        failures.append("Api: no $default route to the users function")
    for path, methods in paths.items():
        if set(methods) != {"x-amazon-apigateway-any-method"}:
            failures.append(f"Api: {path} takes {sorted(methods)}, not ANY")
    # The mailer: one run at a time, not retried by Lambda (the outbox retries each mail).
    mailer = resources["MailerFunction"]["Properties"]
    if mailer.get("ReservedConcurrentExecutions") != 1:
        failures.append("MailerFunction: reserved concurrency is not 1")
    retries = [r["Properties"].get("MaximumRetryAttempts") for r in resources.values()
               if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": "MailerFunction"}]
    if retries != [0]:
        failures.append(f"MailerFunction: async retries {retries}, want [0]")
    # The sender: a few runs at most, not retried by Lambda (the outbox retries each delivery).
    sender = resources["SenderFunction"]["Properties"]
    if not 1 <= sender.get("ReservedConcurrentExecutions", 0) <= 10:
        failures.append("SenderFunction: reserved concurrency is not between 1 and 10")
    invoke = resources["SenderInvokePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    if [(i["Action"], i["Resource"]) for i in invoke] != [("lambda:InvokeFunction", {"Fn::GetAtt": ["SenderFunction", "Arn"]})]:
        failures.append(f"SenderInvokePolicy: {json.dumps(invoke)}")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"template access: {len(failures)} problem(s) in {len(EXPECTED)} functions and the API's routes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
