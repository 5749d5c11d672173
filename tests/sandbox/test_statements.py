"""grader/sandbox/statements.py on real torch: what statements write, Jupyter's cells, follow-through."""
import torch

from grader.sandbox import statements

GRADED = ("a", "b", "c")  # toy gradients: da, db, dc, in backprop order
CORRECT = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([3.0, 4.0]), "c": torch.tensor([5.0, 6.0])}


def execute_in(ns):
    def execute(st):
        try:
            exec(st.code, ns)
        except Exception as exc:  # noqa: BLE001
            return {"type": type(exc).__name__, "message": str(exc), "lineno": st.lineno}
        return None
    return execute


def follow(code, ns=None):
    ns = {"torch": torch} if ns is None else ns
    parsed = statements.parse(code, "<t>")
    return statements.run_follow_through(parsed, ns, GRADED, GRADED, lambda n: CORRECT[n].clone(), execute_in(ns)), ns


def test_writes_cover_assignments_updates_inplace_calls_and_loops():
    code = ("da = x\ndb[0] = 1\ndc += 2\ndd.index_add_(0, i, v)\nfor k in range(3):\n    de[k] += 1\n"
            "p, (q, r) = 1, (2, 3)\nwith open('f') as fh:\n    pass\n")
    writes = [sorted(st.writes) for st in statements.parse_quietly(code)]
    assert writes == [["da"], ["db"], ["dc"], ["dd"], ["de", "k"], ["p", "q", "r"], ["fh"]]
    assert statements.parse_quietly("def (:") == []


def test_last_writers_and_aliases():
    parsed = statements.parse_quietly("da = 1\ndb = da\nda += 1\nx = db\nx += 1\n")
    assert statements.last_writers(parsed, GRADED) == {"a": 2, "b": 1}
    assert statements.aliases(parsed, GRADED) == {"b": 4}
    assert statements.writer_lines(parsed, "a") == [1, 3]


def test_as_written_stops_a_cell_at_its_first_error_and_runs_the_next_cell():
    ns = {"torch": torch}
    code = "x = 1\nboom()\ny = 2\nz = 3\n"
    parsed = statements.parse(code, "<t>")
    out = statements.run_as_written(parsed, ns, GRADED, [1, 4], execute_in(ns))
    assert [e["lineno"] for e in out["errors"]] == [2]
    assert "y" not in ns and ns["z"] == 3  # the rest of cell 1 did not run; cell 2 did


def test_as_written_notices_a_finished_gradient_changed_through_an_alias():
    ns = {"torch": torch}
    code = "da = torch.ones(2)\ndb = da\ndb += 1\n"
    parsed = statements.parse(code, "<t>")
    out = statements.run_as_written(parsed, ns, GRADED, [1], execute_in(ns))
    assert out["changed"] == {"a": [1, 3]}


def test_follow_through_grades_each_statement_given_right_inputs():
    # da is wrong; db = 3 * da is right given a right da; dc raises
    out, ns = follow("da = torch.zeros(2)\ndb = torch.tensor([3.0, 4.0]) * da / torch.tensor([1.0, 2.0])\n"
                     "dc = undefined_name\n")
    assert torch.equal(out["answers"]["a"], torch.zeros(2))
    assert torch.equal(out["answers"]["b"], CORRECT["b"])
    assert out["raised"] == {"c": [3, "NameError"]} and "c" not in out["answers"]
    assert torch.equal(ns["dc"], CORRECT["c"])  # later statements would have read the right value


def test_follow_through_gives_an_unwritten_upstream_gradient_only_to_statements_downstream_of_it():
    out, _ = follow("db = da * 1\n")  # da is never written and comes before db: given
    assert torch.equal(out["answers"]["b"], CORRECT["a"])
    out, _ = follow("da = db * 1\n")  # db comes after da: not given, so the statement raises
    assert out["raised"] == {"a": [1, "NameError"]}


def test_follow_through_answer_is_the_value_when_its_last_statement_ran():
    out, _ = follow("da = torch.tensor([1.0, 2.0])\nx = da\nx += 1\n")
    assert torch.equal(out["answers"]["a"], CORRECT["a"])
    assert out["changed"] == {"a": 3}  # the bound correct value was changed through the alias


def test_all_zeros_never_follow_through():
    """Rules are linear: with the student's own (zero) upstream everything downstream would be 'right'."""
    out, _ = follow("da = torch.zeros(2)\ndb = da * 2\ndc = db * 3\n")
    assert not any(torch.equal(out["answers"][n], CORRECT[n]) for n in GRADED)


def test_the_walker_finds_every_node_ast_walk_finds():
    """writes_of/reads_of walk without ast.walk's generators (a hot path of every run): same nodes, every source here."""
    import ast
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [p.read_text() for p in (root / "grader").rglob("*.py")] + [p.read_text() for p in (root / "solutions").glob("*.py")]
    for nb in (root / "tests" / "fixtures" / "notebooks").glob("*.ipynb"):
        try:  # some fixtures are damaged on purpose
            cells = json.loads(nb.read_text(errors="replace"))["cells"]
        except (ValueError, KeyError, TypeError):
            continue
        sources += ["".join(c.get("source") or "") for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    checked = 0
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt):
                assert {id(n) for n in statements._walk(node)} == {id(n) for n in ast.walk(node)}
                checked += 1
    assert checked > 5000
