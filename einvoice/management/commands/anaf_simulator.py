from pathlib import Path

from django.core.management.base import BaseCommand

from einvoice.anaf.simulator import DEFAULT_PROCESSING_SECONDS, Simulator, make_server


class Command(BaseCommand):
    help = (
        "Serves the ANAF e-Factura simulator over HTTP until interrupted: e-Factura under /prod/FCTEL/rest/ and "
        "/test/FCTEL/rest/, OAuth at /anaf-oauth2/v1/token, faults at /__simulator__/faults."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8090)
        parser.add_argument(
            "--processing-seconds",
            type=float,
            default=DEFAULT_PROCESSING_SECONDS,
            help="how long stareMesaj answers 'in prelucrare' after an upload",
        )
        parser.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="the folder of the shared state (default: EINVOICE_SIMULATOR_DIR, else MEDIA_ROOT/anaf-simulator)",
        )
        parser.add_argument("--permissive", action="store_true", help="answer e-Factura calls without a Bearer token")

    def handle(self, *args, **options):
        simulator = Simulator(
            options["state_dir"],
            processing_seconds=options["processing_seconds"],
            require_token=not options["permissive"],
        )
        server = make_server(options["host"], options["port"], simulator)
        self.stdout.write(f"ANAF e-Factura simulator on {server.url}, state in {simulator.state_dir}. Ctrl-C stops it.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
