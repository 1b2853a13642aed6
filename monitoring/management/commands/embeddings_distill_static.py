"""`manage.py embeddings_distill_static [--source DIR] [--pca-dims N]`: the static tier's model, distilled offline."""
import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.static_embeddings import STATIC_PCA_DIMS, distill_static, static_model_dir


class Command(BaseCommand):
    """Distill the static embedding model from the local sentence-transformer into DRIFTGATE_VAR_DIR."""

    help = ("Distill a model2vec static embedding model from the local embedding model (no download); "
            "use cases may then select the static tier.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", help="Local sentence-transformer directory (default: the configured model, "
                                             "the packaged all-MiniLM-L6-v2 unless DRIFTGATE_EMBEDDING_MODEL is set)")
        parser.add_argument("--pca-dims", type=int, default=STATIC_PCA_DIMS,
                            help=f"Dimensions kept by the PCA (default {STATIC_PCA_DIMS})")
        parser.add_argument("--json", action="store_true", help="Print what was recorded as JSON")

    def handle(self, *args, **options) -> None:
        if options["pca_dims"] < 2:
            raise CommandError("--pca-dims must be at least 2.")
        started = time.perf_counter()
        try:
            import model2vec  # noqa: F401
        except ImportError as exc:
            raise CommandError("model2vec is not installed; it is a project dependency (pyproject.toml).") from exc
        try:
            info = distill_static(source=options["source"], pca_dims=options["pca_dims"],
                                  progress=lambda line: self.stderr.write(
                                      f"  [{time.perf_counter() - started:6.1f} s] {line}"))
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({**info, "directory": str(static_model_dir())}, indent=2))
            return
        self.stdout.write(f"static model {info['source']}-static:{info['dim']} distilled in "
                          f"{info['seconds']['total']} s into {static_model_dir()}")
