"""Scale definitions, scoring, bands, flags and licensed item files."""

from __future__ import annotations

import json

import pytest

from console.clinical import ClinicalDataError, ScaleLibrary, ScoreError, load_scale_file
from console.clinical.scales import parse_scale


@pytest.fixture(scope="module")
def lib() -> ScaleLibrary:
    return ScaleLibrary.builtin()


def test_builtin_scales_are_the_documented_set(lib):
    assert lib.ids() == ["cadss6", "gad7", "moaas", "phq9", "quick_dissociation", "rass"]


def test_moaas_has_six_levels_with_public_wording(lib):
    m = lib.get("moaas")
    assert m.single and (m.items[0].min, m.items[0].max) == (0, 5)
    assert m.items[0].option_label(5) == "Responds readily to name spoken in normal tone"
    assert m.items[0].option_label(0) == "No response after painful trapezius squeeze"
    assert m.score({"score": 5}).total == 5


def test_rass_scores_negative_values(lib):
    r = lib.get("rass")
    assert [o.value for o in r.items[0].options] == [4, 3, 2, 1, 0, -1, -2, -3, -4, -5]
    assert r.score({"score": -3}).total == -3
    assert "out of range (allowed -5 to 4)" in str(pytest.raises(ScoreError, r.score, {"score": -6}).value)


def test_cadss6_items_are_the_short_form_numbers_with_subscales(lib):
    c = lib.get("cadss6")
    assert [it.id for it in c.items] == ["1", "2", "6", "7", "15", "22"]
    assert not c.licensed
    res = c.score({"1": 1, "2": 2, "6": 3, "7": 0, "15": 4, "22": 1}, baseline_total=0)
    assert res.total == 11
    assert res.subscales == {"depersonalization": 3, "derealization": 7, "amnesia": 1}


@pytest.mark.parametrize(("total", "baseline", "flagged"), [
    (5, 0, True),     # above 4 and above pre-dose
    (4, 0, False),    # not above 4
    (5, 5, False),    # not above pre-dose
    (6, 5, True),
])
def test_cadss_dissociation_is_total_above_4_and_above_predose(lib, total, baseline, flagged):
    c = lib.get("cadss6")
    answers = {"1": 0, "2": 0, "6": 0, "7": 0, "15": 0, "22": 0}
    answers["1"] = min(total, 4)
    answers["2"] = total - answers["1"]
    assert c.score(answers, baseline_total=baseline).has_flag("dissociation") is flagged


def test_cadss_dissociation_without_predose_is_raised_and_says_so(lib):
    res = lib.get("cadss6").score({"1": 4, "2": 2, "6": 0, "7": 0, "15": 0, "22": 0})
    assert res.flags[0].message.endswith("(no pre-dose score recorded)")


def test_quick_rating_is_marked_not_validated_and_additional(lib):
    q = lib.get("quick_dissociation")
    assert (q.validated, q.additional_only) == (False, True)
    assert (q.items[0].min, q.items[0].max) == (0, 10)


@pytest.mark.parametrize(("total", "band"), [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"),
                                             (10, "moderate"), (14, "moderate"), (15, "moderately severe"),
                                             (19, "moderately severe"), (20, "severe"), (27, "severe")])
def test_phq9_bands(lib, total, band):
    p = lib.get("phq9")
    answers = {str(i): 0 for i in range(1, 10)}
    left = total
    for i in range(1, 9):  # keep item 9 at 0 so the flag does not interfere
        answers[str(i)] = min(3, left)
        left -= answers[str(i)]
    answers["9"] = left
    res = p.score(answers)
    assert (res.total, res.band) == (total, band)


@pytest.mark.parametrize(("total", "band"), [(4, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"),
                                             (21, "severe")])
def test_gad7_bands(lib, total, band):
    answers, left = {}, total
    for i in range(1, 8):
        answers[str(i)] = min(3, left)
        left -= answers[str(i)]
    assert lib.get("gad7").score(answers).band == band


def test_loinc_codes(lib):
    assert lib.get("phq9").loinc == "44261-6"
    assert lib.get("gad7").loinc == "70274-6"


def test_phq9_item9_nonzero_raises_urgent_flag(lib):
    p = lib.get("phq9")
    answers = {str(i): 0 for i in range(1, 10)}
    assert p.score(answers).flags == ()
    answers["9"] = 1
    res = p.score(answers)
    assert res.urgent
    assert [f.message for f in res.flags] == ["Thoughts of self-harm reported: tell the clinician now"]


def test_phq9_item9_flag_shows_on_an_incomplete_form(lib):
    flags = lib.get("phq9").partial_flags({"9": 2})
    assert [f.id for f in flags] == ["self_harm"] and flags[0].urgent
    assert lib.get("phq9").partial_flags({"9": 0, "1": 3}) == []


def test_moaas_fall_from_predose_is_sedation(lib):
    m = lib.get("moaas")
    assert m.score({"score": 4}, baseline_total=5).has_flag("sedation")
    assert not m.score({"score": 5}, baseline_total=5).has_flag("sedation")
    assert not m.score({"score": 4}).has_flag("sedation")


def test_scoring_problems_are_listed_in_plain_words(lib):
    p = lib.get("phq9")
    answers = {str(i): 1 for i in range(1, 10)}
    del answers["3"]
    answers["5"] = 4
    answers["7"] = "x"
    answers["10"] = 1
    with pytest.raises(ScoreError) as err:
        p.score(answers)
    assert err.value.problems == [
        "PHQ-9: there is no item '10'",
        "PHQ-9 item 3 (Trouble falling or staying asleep, or...) is not answered",
        "PHQ-9 item 5 (Poor appetite or overeating): 4 is out of range (allowed 0 to 3)",
        "PHQ-9 item 7 (Trouble concentrating on things, such...): 'x' is not a whole number",
    ]


def test_bool_is_not_a_score(lib):
    assert lib.get("moaas").problems({"score": True}) == ["MOAA/S: True is not a whole number"]


def _write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return p


def _minimal(**over):
    d = {"format": "chairside-scale/1", "id": "x", "version": 1, "title": "X",
         "items": [{"id": "a", "label": "A", "min": 0, "max": 4}]}
    d.update(over)
    return d


@pytest.mark.parametrize(("obj", "message"), [
    ('{"id": "x",\n "version": }', "not valid JSON at line 2"),
    (_minimal(format="other"), "'format' must be 'chairside-scale/1'"),
    (_minimal(id=""), "'id' must be a short name"),
    (_minimal(version=0), "'version' must be a whole number >= 1"),
    (_minimal(items=[]), "'items' must be a non-empty list"),
    (_minimal(items=[{"id": "a", "label": "A", "min": 0, "max": 4}, {"id": "a", "label": "B", "min": 0, "max": 4}]),
     "item ids must be unique (repeated: a)"),
    (_minimal(items=[{"id": "a", "label": "A", "min": 4, "max": 0}]), "'min' (4) must be below 'max' (0)"),
    (_minimal(items=[{"id": "a", "label": "", "min": 0, "max": 4}]), "item 'a': 'label' must be non-empty text"),
    (_minimal(subscales={"s": ["a", "zz"]}), "subscale 's': unknown item ids: zz"),
    (_minimal(bands=[{"min": 5, "label": "b"}, {"min": 1, "label": "a"}]), "increasing order"),
    (_minimal(flags=[{"id": "f", "message": "m", "item": "q"}]), "refers to unknown item 'q'"),
    (_minimal(flags=[{"id": "f", "message": "m"}]), "needs exactly one of"),
    (_minimal(loinc="abc"), "'loinc' must be a LOINC code"),
])
def test_load_scale_file_reports_what_is_wrong(tmp_path, obj, message):
    p = _write(tmp_path, "bad.json", obj)
    with pytest.raises(ClinicalDataError) as err:
        load_scale_file(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClinicalDataError, match="file not found"):
        load_scale_file(tmp_path / "nope.json")


def _licensed_cadss(ids=range(1, 24)):
    return {"format": "chairside-scale/1", "id": "cadss", "version": 1, "title": "CADSS", "licensed": True,
            "options": [{"value": v, "label": f"level {v}"} for v in range(5)],
            "items": [{"id": str(i), "number": i, "label": f"Licensed wording {i}", "min": 0, "max": 4}
                      for i in ids],
            "flags": [{"id": "dissociation", "total_above": 4, "above_baseline": True, "message": "Dissociation"}]}


def test_licensed_full_cadss_replaces_every_cadss6_label(tmp_path):
    lib = ScaleLibrary.builtin()
    lib.add_file(_write(tmp_path, "cadss.json", _licensed_cadss()))
    full = lib.get("cadss")
    assert len(full.items) == 23 and full.max_total == 92
    short = lib.get("cadss6")
    assert [it.label for it in short.items] == [f"Licensed wording {i}" for i in (1, 2, 6, 7, 15, 22)]
    assert short.licensed and lib.warnings == []
    # scoring of the short form is unchanged by the new wording
    assert short.score({"1": 1, "2": 1, "6": 1, "7": 1, "15": 1, "22": 1}, 0).subscales["amnesia"] == 1


def test_licensed_file_lacking_items_keeps_paraphrases_and_warns(tmp_path):
    lib = ScaleLibrary.builtin()
    lib.add_file(_write(tmp_path, "cadss.json", _licensed_cadss(ids=range(1, 21))))
    short = lib.get("cadss6")
    assert short.item("22").label == "Gaps in memory of what just happened"
    assert short.item("15").label == "Licensed wording 15"
    assert not short.licensed
    assert "no wording for CADSS-6 item(s) 22" in lib.warnings[0]


def test_site_dir_file_with_same_id_replaces_builtin(tmp_path):
    d = json.loads(json.dumps(ScaleLibrary.builtin().get("cadss6").to_dict()))
    for it in d["items"]:
        it["label"] = "site " + it["id"]
    d["licensed"] = True
    _write(tmp_path, "cadss6.json", d)
    lib = ScaleLibrary.for_site(tmp_path)
    assert lib.get("cadss6").item("7").label == "site 7"


def test_to_dict_round_trips(lib):
    for s in lib:
        again = parse_scale(s.to_dict(), "copy")
        assert again.items == s.items and again.flag_rules == s.flag_rules and again.bands == s.bands
