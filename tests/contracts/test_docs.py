"""Examples in the documentation are tests.

* Every docstring example in every skbayes module (including the private
  modules that define the public classes) runs as a doctest, one test each.
* The README's ``python`` code blocks run as written.
* Slow: the ``python`` code blocks of each docs page run in order, as one
  script per page, and ``docs/scripts/make_figures.py`` runs to the end.

All of it runs under the suite's ``filterwarnings = error``: an example that
emits a warning (a ``ConvergenceWarning`` from too few steps, say) fails.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import skbayes

ROOT = Path(__file__).resolve().parents[2]
# Code blocks fenced with ```python, possibly indented inside a list item.
CODE_BLOCK = re.compile(
    r"^(?P<indent> *)```python\n(?P<code>.*?)^(?P=indent)```", re.S | re.M
)
# Pages whose code is not ours to run here: benchmarks.md is written and
# tested with the benchmarks.
SKIPPED_PAGES = {"benchmarks.md"}
ESTIMATORS = sorted(name for name in skbayes.__all__ if name[0].isupper())


def _doctest_cases() -> list:
    finder = doctest.DocTestFinder(exclude_empty=True)
    submodules = pkgutil.walk_packages(skbayes.__path__, "skbayes.")
    names = ["skbayes", *sorted(info.name for info in submodules)]
    cases = []
    for name in names:
        module = importlib.import_module(name)
        try:
            # Only objects defined in `module` are searched, so a class
            # re-exported by a package is tested once, where it is defined.
            tests = finder.find(module, name)
        except ValueError as error:  # a docstring doctest cannot even parse
            cases.append(pytest.param(name, str(error), id=name))
            continue
        cases += [
            pytest.param(test, None, id=test.name) for test in tests if test.examples
        ]
    return cases


def _close_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize(("test", "parse_error"), _doctest_cases())
def test_docstring_examples(test, parse_error):
    if parse_error is not None:
        pytest.fail(f"doctest cannot parse a docstring in {test}: {parse_error}")
    if any("matplotlib" in example.source for example in test.examples):
        pytest.importorskip("matplotlib")
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    report: list[str] = []
    try:
        runner.run(test, out=report.append)
    finally:
        _close_figures()
    assert runner.failures == 0, "".join(report)


def test_every_public_module_has_examples():
    """Guards the collection above: it must find the examples it should."""
    tested = {
        case.values[0].name for case in _doctest_cases() if case.values[1] is None
    }
    for name in [
        "skbayes.estimators._beta_bernoulli.BetaBernoulliEstimator",
        "skbayes.estimators._linear.BayesianLinearRegression",
        "skbayes.estimators._logistic.BayesianLogisticRegression",
        "skbayes.datasets.make_sparse_regression",
        "skbayes.priors.independent.Normal",
        "skbayes.plotting.plot_coefficients",
        "skbayes.plotting.plot_loss_curve",
        "skbayes.plotting.plot_posterior",
        "skbayes.plotting.plot_predictive",
    ]:
        assert name in tested


# A numpydoc entry: "name : type" (or "a, b : type") at the section's indent.
DOC_ENTRY = re.compile(r"^    (?P<names>\w+(?:, \w+)*) :", re.M)


def _documented(doc: str, section: str) -> list[str]:
    body = doc.split(f"\n    {section}\n    {'-' * len(section)}\n", 1)[1]
    body = re.split(r"\n\n    \w+\n    -+\n", body, maxsplit=1)[0]
    return [n for m in DOC_ENTRY.finditer(body) for n in m["names"].split(", ")]


@pytest.mark.parametrize(
    "est", [getattr(skbayes, n) for n in ESTIMATORS], ids=list(ESTIMATORS)
)
def test_estimator_docstring_documents_every_parameter_in_order(est):
    """The shared sections (``estimators/_docs.py``) fit each signature."""
    signature = list(inspect.signature(est.__init__).parameters)[1:]
    assert _documented(est.__doc__, "Parameters") == signature
    attributes = _documented(est.__doc__, "Attributes")
    assert len(attributes) == len(set(attributes))
    assert all(a.endswith("_") for a in attributes)
    assert {"posterior_", "inference_", "diagnostics_"} <= set(attributes)


def _code_blocks(path: Path) -> list[str]:
    """The ``python`` blocks of a Markdown file, dedented, snippet includes out."""
    blocks = []
    for match in CODE_BLOCK.finditer(path.read_text()):
        code = textwrap.dedent(match["code"])
        if code.lstrip().startswith("--8<--"):
            continue  # included from docs/scripts, which is tested by running it
        blocks.append(code)
    return blocks


def _run_script(blocks: list[str], label: str) -> None:
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{label}, python block {i + 1}", "exec"), namespace)


README_BLOCKS = _code_blocks(ROOT / "README.md")


def test_readme_has_an_example():
    assert README_BLOCKS, "README.md should have a ```python example"


@pytest.mark.parametrize("index", range(len(README_BLOCKS)))
def test_readme_example_runs(index, capsys):
    _run_script([README_BLOCKS[index]], "README.md")
    assert capsys.readouterr().out  # the example prints its results


DOC_PAGES = sorted(
    path
    for path in (ROOT / "docs").glob("**/*.md")
    if path.name not in SKIPPED_PAGES and _code_blocks(path)
)


@pytest.mark.slow
@pytest.mark.parametrize("page", DOC_PAGES, ids=[p.name for p in DOC_PAGES])
def test_docs_page_code_runs(page, capsys):
    """Each page's examples run top to bottom, as a reader would paste them."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    try:
        with warnings.catch_warnings():
            # plt.show() under Agg warns that it cannot show; nothing to fix.
            warnings.filterwarnings(
                "ignore", "FigureCanvasAgg is non-interactive", UserWarning
            )
            _run_script(_code_blocks(page), str(page.relative_to(ROOT)))
    finally:
        _close_figures()


@pytest.mark.slow
def test_figure_script_runs(tmp_path):
    """``make docs`` runs these scripts first; they must finish and draw everything.

    ``make_figures.py`` draws the tutorial's figures, and ``sbc.py --plot`` the
    validation page's from the stored calibration results.
    """
    script = ROOT / "docs" / "scripts" / "make_figures.py"
    sbc = [
        ROOT / "benchmarks" / "sbc.py",
        "--plot",
        ROOT / "benchmarks" / "results" / "sbc.json",
    ]
    for command in ([script], sbc):
        subprocess.run(
            [sys.executable, "-W", "error", *map(str, command), str(tmp_path)],
            check=True,
            capture_output=True,
            cwd=ROOT,
            timeout=300,
        )
    pictures = {p.name for p in tmp_path.glob("*.png")}
    referenced = set()
    for page in (ROOT / "docs").glob("*.md"):
        referenced |= set(re.findall(r"\(figures/([\w.-]+\.png)\)", page.read_text()))
    assert referenced and referenced <= pictures
