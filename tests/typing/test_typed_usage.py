"""The documented usage type-checks under ``mypy --strict`` as written, and runs."""

from __future__ import annotations

from pathlib import Path

from mypy import api

from tests.typing import typed_user_module

MODULE = Path(typed_user_module.__file__)


def test_the_user_module_passes_mypy_strict() -> None:
    stdout, stderr, status = api.run(["--strict", "--no-incremental", str(MODULE)])
    assert status == 0, stdout + stderr


def test_the_user_module_runs() -> None:
    typed_user_module.check()


def test_list_endpoints_document_a_list_of_the_model() -> None:
    schema = typed_user_module.app.openapi()
    response = schema["paths"]["/lines"]["get"]["responses"]["200"]["content"]
    items = response["application/json"]["schema"]
    assert items["type"] == "array"
    assert items["items"]["$ref"].endswith("/TypedLineBrief")


def test_a_missing_extra_names_what_to_install() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        sys.modules["marshmallow"] = None  # as if the extra were not installed
        import treeshape as ts
        from tests.models import Line
        try:
            ts.shape(Line).marshmallow_schema
        except ModuleNotFoundError as error:
            print(error)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'treeshape[marshmallow]'" in out.stdout


def test_every_error_is_a_treeshape_error() -> None:
    import treeshape as ts
    from treeshape.web import QueryError

    for error in (ts.FetchError, ts.InputError, ts.SpecError, ts.NotLoadedError, QueryError):
        assert issubclass(error, ts.TreeshapeError), error
