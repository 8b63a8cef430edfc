"""The message catalogue (reporting/messages/<lang>.yaml) and the Babel formats of numbers and dates."""

from __future__ import annotations

import ast
import datetime
import re
import string
from pathlib import Path

import pytest
import yaml

from cocity_analysis import FOCUS_AREA_LABELS, FOCUS_AREAS, config
from cocity_analysis.reporting import formatting, messages
from cocity_analysis.reporting.formatting import format_date_text, format_number, format_score, format_share


# --- the catalogue ---------------------------------------------------------------------------------

def _leaves(value, path=()):
    """(path, text) of every string in a text: the string itself, or those of a tuple or mapping."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _leaves(item, path + (index,))
    elif isinstance(value, str):
        yield path, value


def _placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_both_languages_have_the_same_keys():
    it, en = messages.TEXTS["it"], messages.TEXTS["en"]
    assert sorted(set(it) - set(en)) == [] and sorted(set(en) - set(it)) == []


def test_both_languages_have_the_same_placeholders_and_structure():
    it, en = messages.TEXTS["it"], messages.TEXTS["en"]
    problems = []
    for key in it:
        leaves_it, leaves_en = dict(_leaves(it[key])), dict(_leaves(en[key]))
        if set(leaves_it) != set(leaves_en):
            problems.append(f"{key}: entries {sorted(map(str, set(leaves_it) ^ set(leaves_en)))}")
            continue
        for path, text in leaves_it.items():
            if _placeholders(text) != _placeholders(leaves_en[path]):
                problems.append(f"{key}{list(path)}: {sorted(_placeholders(text))} vs {sorted(_placeholders(leaves_en[path]))}")
    assert problems == []


def test_files_are_yaml_mappings_of_texts_with_lists_read_as_tuples():
    for lang in messages.LANGS:
        path = messages.CATALOGUE_DIR / f"{lang}.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(raw, dict) and raw
        assert all(isinstance(key, str) for key in raw)
        assert messages.catalogue(lang) is messages.TEXTS[lang]  # read once
        assert messages.TEXTS[lang].keys() == raw.keys()
    glossary = messages.TEXTS["it"]["glossary"]
    assert isinstance(glossary, tuple) and isinstance(glossary[0], tuple) and len(glossary[0]) == 2
    assert isinstance(messages.TEXTS["en"]["glossary"][0], tuple)
    assert isinstance(messages.TEXTS["it"]["ov_levels"], dict)


def test_a_missing_key_names_the_key_and_the_file():
    with pytest.raises(messages.MissingText, match=r"'no_such_text'.*it\.yaml") as caught:
        messages._t("it", "no_such_text")
    assert isinstance(caught.value, KeyError)  # as the dict it replaced
    with pytest.raises(KeyError, match=r"en\.yaml"):
        messages.TEXTS["en"]["no_such_text"]
    assert messages.TEXTS["en"].get("no_such_text") is None


def test_texts_are_filled_and_italian_tidied():
    assert messages._t("it", "ref_all", count="7.896") == "i 7.896 comuni italiani con dati"
    assert messages._t("en", "ref_all", count="7,896") == "the 7,896 Italian municipalities with data"
    # "a" + "Andria" -> "ad Andria": the Italian text goes through italian.tidy, the English does not
    assert "ad Andria, per anno" in messages._t("it", "income_intro", city="Andria", years="2018, 2021")
    assert "in Andria, by tax year" in messages._t("en", "income_intro", city="Andria", years="2018, 2021")


def test_every_text_of_the_catalogue_is_used():
    """A key that no module or template names is a text nobody reads (and nobody keeps up to date)."""
    package = Path(messages.__file__).parents[1]
    sources = "".join(path.read_text(encoding="utf-8") for pattern in ("*.py", "*.j2")
                      for path in package.rglob(pattern) if "messages" not in path.parts)
    unused = [key for key in messages.TEXTS["it"]
              if not re.search(r"[\'\"]" + re.escape(key) + r"[\'\"]", sources)]
    assert not unused, f"texts no code uses: {unused}"


def test_area_labels_come_from_the_catalogue():
    for lang in messages.LANGS:
        assert set(FOCUS_AREA_LABELS[lang]) == set(FOCUS_AREAS)
        assert set(messages.SHORT_AREA_LABELS[lang]) == set(FOCUS_AREAS)
        for area in FOCUS_AREAS:
            assert messages.area_label(area, lang) == FOCUS_AREA_LABELS[lang][area] == messages.TEXTS[lang]["area_labels"][area]
            assert messages.short_area_label(area, lang) == messages.TEXTS[lang]["short_area_labels"][area]
    assert messages.area_label("housing") == "Riduzione del disagio abitativo"
    assert messages.short_area_label("housing", "en") == "Housing distress"
    assert messages.area_label("not_an_area", "en") == "not_an_area"


# --- every key the code uses is in the catalogue ------------------------------------------------

class _Unresolved(Exception):
    pass


def _bindings(scope: ast.AST, name: str):
    """(kind, node, position) of every binding of ``name`` inside ``scope``: assignments and loop targets."""
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield "value", node.value, None
        elif isinstance(node, (ast.For, ast.comprehension)):
            target = node.target
            if isinstance(target, ast.Name) and target.id == name:
                yield "element", node.iter, None
            elif isinstance(target, ast.Tuple):
                for index, item in enumerate(target.elts):
                    if isinstance(item, ast.Name) and item.id == name:
                        yield "element", node.iter, index


_MODULE: list[ast.Module] = []  # the module being scanned: its top-level constants resolve names too


def _module_values(name: str) -> list[ast.AST]:
    return [node.value for module in _MODULE[-1:] for node in module.body
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)]


def _keys(expr: ast.AST, scope: ast.AST, depth: int = 0) -> set:
    """The text keys an expression can take: strings, or compiled patterns for f-strings."""
    if depth > 8:
        raise _Unresolved(ast.unparse(expr))
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.JoinedStr):
        pattern = "".join(re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in expr.values)
        return {re.compile(pattern)}
    if isinstance(expr, ast.IfExp):
        return _keys(expr.body, scope, depth + 1) | _keys(expr.orelse, scope, depth + 1)
    if isinstance(expr, ast.Name):
        found = set()
        for kind, node, position in _bindings(scope, expr.id):
            found |= (_keys(node, scope, depth + 1) if kind == "value"
                      else _elements(node, position, scope, depth + 1))
        for node in ([] if found else _module_values(expr.id)):
            found |= _keys(node, scope, depth + 1)
        if found:
            return found
    raise _Unresolved(ast.unparse(expr))


def _elements(iterable: ast.AST, position, scope: ast.AST, depth: int) -> set:
    """The keys of the items (or of item[position]) of a literal sequence, or of a name bound to one."""
    if isinstance(iterable, (ast.Tuple, ast.List, ast.Set)):
        found = set()
        for item in iterable.elts:
            if position is None:
                found |= _keys(item, scope, depth + 1)
            elif isinstance(item, ast.Tuple):
                found |= _keys(item.elts[position], scope, depth + 1)
            else:
                raise _Unresolved(ast.unparse(item))
        return found
    if isinstance(iterable, ast.Name):
        found = set()
        for kind, node, _position in _bindings(scope, iterable.id):
            if kind == "value":
                found |= _elements(node, position, scope, depth + 1)
        for node in ([] if found else _module_values(iterable.id)):
            found |= _elements(node, position, scope, depth + 1)
        if found:
            return found
    if isinstance(iterable, (ast.ListComp, ast.GeneratorExp)):
        element = iterable.elt
        if position is not None and isinstance(element, ast.Tuple):
            element = element.elts[position]
        return _keys(element, iterable, depth + 1)
    raise _Unresolved(ast.unparse(iterable))


def _used_keys():
    """(where, key or pattern) of every text the package asks ``_t``/``_tv`` (or ``TEXTS[lang][...]``) for."""
    used, unresolved = [], []
    for path in sorted(config.PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _MODULE[:] = [tree]
        scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in scopes:
            inner = {id(n) for s in ast.walk(scope) if s is not scope and isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                     for n in ast.walk(s)}
            for node in ast.walk(scope):
                if id(node) in inner:
                    continue  # counted with its own function
                where = f"{path.relative_to(config.PACKAGE_DIR)}:{getattr(node, 'lineno', '?')}"
                if isinstance(node, ast.Call):
                    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                    if name in {"_t", "_tv"} and len(node.args) >= 2 and path.name != "messages.py":
                        try:
                            used.extend((where, key) for key in _keys(node.args[1], scope))
                        except _Unresolved as exc:
                            unresolved.append(f"{where}: {exc}")
                elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript)
                      and isinstance(node.value.value, ast.Name) and node.value.value.id == "TEXTS"
                      and isinstance(node.slice, ast.Constant)):
                    used.append((where, node.slice.value))
    return used, unresolved


def test_every_key_the_code_uses_is_in_both_catalogues():
    used, unresolved = _used_keys()
    assert unresolved == [], "text keys the test cannot follow to a literal: " + "; ".join(unresolved)
    assert len(used) > 300
    for lang in messages.LANGS:
        keys = set(messages.TEXTS[lang])
        missing = [f"{where}: {key}" for where, key in used if isinstance(key, str) and key not in keys]
        missing += [f"{where}: {key.pattern}" for where, key in used
                    if isinstance(key, re.Pattern) and not any(key.fullmatch(k) for k in keys)]
        assert missing == [], f"{lang}.yaml lacks: {missing}"


def test_the_key_scan_sees_computed_keys():
    tree = ast.parse("def f(view, x):\n"
                     "    key = 'a' if x else 'b'\n"
                     "    for k, t in (('c', 'd'), ('e', 'f')):\n"
                     "        _tv(view, t)\n"
                     "    _t(view.lang, key)\n"
                     "    _t(view.lang, f'ov_{x}_h')\n")
    function = tree.body[0]
    calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
    found = [_keys(call.args[1], function) for call in calls]
    assert {"d", "f"} in found and {"a", "b"} in found
    assert any(isinstance(k, re.Pattern) and k.fullmatch("ov_priorities_h") for keys in found for k in keys)
    with pytest.raises(_Unresolved):
        _keys(ast.parse("g(x)").body[0].value, function)


# --- numbers and dates from Babel's locales ---------------------------------------------------------

@pytest.mark.parametrize(("value", "decimals", "italian", "english"), [
    (7896, None, "7.896", "7,896"),
    (1234567.891, 0, "1.234.568", "1,234,568"),
    (3.14159, None, "3,14", "3.14"),
    (12.345, None, "12,3", "12.3"),
    (-1234.5, 1, "-1.234,5", "-1,234.5"),
    (0.125, 2, "0,12", "0.12"),  # half to even, as before Babel
    (2.675, 2, "2,67", "2.67"),  # the float's exact value is below 2.675
    (-0.001, 2, "0,00", "0.00"),  # no "-0"
    (-0.0004, 3, "0,000", "0.000"),
    (1995.0, 0, "1.995", "1,995"),
])
def test_numbers_follow_the_locale(value, decimals, italian, english):
    assert format_number(value, "it", decimals) == italian
    assert format_number(value, "en", decimals) == english


def test_formats_are_babels_for_it_it_and_en_gb():
    from babel.numbers import format_decimal

    assert str(formatting.LOCALES["it"]) == "it_IT" and str(formatting.LOCALES["en"]) == "en_GB"
    for value in (7896.25, 123456.5, 0.75):
        assert format_number(value, "it", 2) == format_decimal(value, "#,##0.00", locale="it_IT")
        assert format_number(value, "en", 2) == format_decimal(value, "#,##0.00", locale="en_GB")


def test_missing_values_and_scores():
    for missing in (None, float("nan")):
        assert format_number(missing, "it") == "n.d." and format_number(missing, "en") == "n/a"
        assert format_share(missing, "it") == "n.d."
    assert format_score(61.5, "it") == "62" and format_score(62.5, "en") == "62"
    assert format_score(1000.4, "it") == "1.000"


@pytest.mark.parametrize(("share", "text"), [
    (0.8712, "87%"), (0.0, "0%"), (1.0, "100%"), (0.003, "<1%"), (0.996, ">99%"), (0.005, "<1%"), (0.0051, "1%"),
    (0.994, "99%"), (0.285, "28%"), (0.125, "12%"), (12.345, "1.234%"),
])
def test_shares_keep_the_ends_in_words(share, text):
    assert format_share(share, "it") == text
    assert format_share(share, "en") == text.replace(".", ",")


def test_dates_in_the_long_form_of_each_locale():
    assert format_date_text("2025-06-30", "it") == "30 giugno 2025"
    assert format_date_text("2025-06-30", "en") == "30 June 2025"
    assert format_date_text("2026-01-01T08:15:00+00:00", "it") == "1 gennaio 2026"
    assert format_date_text(datetime.date(2024, 3, 5), "en") == "5 March 2024"
    assert format_date_text("scaricato il 3 marzo 2025", "it") == "scaricato il 3 marzo 2025"
    assert format_date_text("2025-13-40", "it") == "2025-13-40"
    assert format_date_text("", "it") == "" and format_date_text(None, "en") == ""


def test_an_unknown_language_is_refused():
    with pytest.raises(Exception, match="lingua del report sconosciuta 'fr'"):
        format_number(1.5, "fr")


def test_babel_gives_the_italian_numbers_written_by_hand_before():
    # the pre-Babel rule: Python's grouping, then '.' and ',' swapped for Italian, no "-0"
    def by_hand(value, decimals):
        text = f"{value:,.{decimals}f}"
        text = text[1:] if text.startswith("-") and not text.strip("-0.,") else text
        return text.translate(str.maketrans({",": ".", ".": ","}))

    values = [i / 8 for i in range(-200, 200)] + [i * 7.31 for i in range(-500, 500)] + [2.675, 1.005, 99.95, 7896.5]
    for value in values:
        for decimals in (0, 1, 2, 3):
            assert format_number(value, "it", decimals) == by_hand(value, decimals), (value, decimals)
            assert format_number(value, "en", decimals) == by_hand(value, decimals).translate(
                str.maketrans({",": ".", ".": ","})), (value, decimals)
