"""Ships the top-level `migrations/` inside the package as `app/migrations` (pyproject.toml holds
everything else).

Developers keep `migrations/` where the layout card puts it (alembic.ini points there); an
installed wheel finds the same files next to its own code, through `app.schema.MIGRATIONS_DIR`,
and reads nothing from a source tree. An editable install needs no copy: `app.schema` falls back
to the checkout's `migrations/`.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "migrations"


class BuildWithMigrations(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "app" / "migrations"
        for path in sorted(SOURCE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                destination = target / path.relative_to(SOURCE)
                self.mkpath(str(destination.parent))
                self.copy_file(str(path), str(destination))


setup(cmdclass={"build_py": BuildWithMigrations})
