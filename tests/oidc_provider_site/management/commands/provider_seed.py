"""Create the test provider's signing key, one confidential client and its people (idempotent)."""
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey


class Command(BaseCommand):
    help = "Create an RSA signing key, a client (id, secret, redirect URIs) and users username:email:password."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--user", action="append", default=[], help="username:email:password")

    def handle(self, *args, **options) -> None:
        if not RSAKey.objects.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            RSAKey.objects.create(key=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()).decode())
        client, _ = Client.objects.update_or_create(
            client_id=options["client_id"],
            defaults={"name": "Driftgate", "client_type": "confidential", "client_secret": options["client_secret"],
                      "jwt_alg": "RS256", "require_consent": False, "reuse_consent": True,
                      "_redirect_uris": "\n".join(options["redirect_uri"]), "_scope": ""})
        client.response_types.set([ResponseType.objects.get(value="code")])
        users = get_user_model().objects
        for spec in options["user"]:
            username, email, password = spec.split(":", 2)
            user, _ = users.get_or_create(username=username, defaults={"email": email})
            user.email = email
            user.set_password(password)
            user.save()
        self.stdout.write("seeded")
