"""The survey pages of the console: a refused form keeps everything typed, ticked and chosen, with the reason in
Japanese next to its field (also the opinion reply form); the results page names the target's year and the
survey's year apart; its charts keep every label apart (measured in Chromium, on screen and printed), say the
question once and read in black and white. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import select

from bot import clock
from db.base import transaction
from db.models import Event, Member, Opinion, Subcommittee, Survey, SurveyResponse, User
from main import create_app
from surveys import results, service
from tests.helpers import (
    PASSWORD,
    SCREENSHOTS,
    browser_page,
    logged_in,
    make_settings,
    make_staff,
    people,
    screenshot,
    serve,
    work,
)

JST = clock.JST


@pytest.fixture
def client(app_factory: Any) -> Any:
    return app_factory(quiet_hours_start=0, quiet_hours_end=0)


def local(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def error_after(page: str, field: str) -> str | None:
    """The error shown right after the named input or select (inside its label), if any."""
    found = re.search(rf'name="{field}"[^>]*>(?:(?!</label>).)*?<span class="field-error"[^>]*>([^<]+)</span>', page,
                      re.S)
    return html.unescape(found.group(1)) if found else None


def ticked(page: str, name: str, value: str | None = None) -> bool:
    pattern = rf'<input type="checkbox" name="{name}"' + (rf' value="{re.escape(value)}"' if value else "")
    found = re.search(pattern + r"([^>]*)>", page)
    assert found, f"no checkbox {name} {value}"
    return "checked" in found.group(1)


def selected_template(page: str) -> str:
    found = re.search(r'<option value="([^"]+)" selected>', page)
    assert found, "no template selected"
    return found.group(1)


# --------------------------------------------------------------------------- forms over HTTP


def test_a_refused_survey_form_keeps_everything_and_says_why_next_to_the_field(client, sessions):
    people(sessions, members={"まちづくり部会": 2, "子育て部会": 1})
    csrf = logged_in(client, sessions)
    opens = clock.now() + dt.timedelta(days=10)
    form = {"csrf": csrf, "template": "management-evaluation", "title": "令和8年度 運営方針 委員評価",
            "opens_at": local(opens), "closes_at": local(opens - dt.timedelta(days=1)), "target_year": "H30",
            "subcommittee": ["子育て部会"]}  # 匿名 unticked
    page = client.post("/console/surveys", data=form)
    assert page.status_code == 422
    text = page.text
    assert error_after(text, "closes_at") == "開始より後（未来）の日時にしてください"
    assert "入力を確かめてください。締切: 開始より後（未来）の日時にしてください" in text  # and above the form
    assert error_after(text, "opens_at") is None and error_after(text, "title") is None
    assert f'name="closes_at" required value="{form["closes_at"]}" aria-invalid="true"' in text
    assert "autofocus" in text.split('name="closes_at"')[1].split(">")[0]  # the browser shows the field
    assert selected_template(text) == "management-evaluation"
    assert f'value="{form["title"]}"' in text and f'value="{form["opens_at"]}"' in text and 'value="H30"' in text
    assert ticked(text, "subcommittee", "子育て部会") and not ticked(text, "subcommittee", "まちづくり部会")
    assert not ticked(text, "anonymous")
    assert "closes_at must be" not in text  # no English for clerks
    with sessions() as session:
        assert session.scalars(select(Survey)).all() == []

    # fixed: only the date
    fixed = client.post("/console/surveys", data={**form, "closes_at": local(opens + dt.timedelta(days=14))},
                        follow_redirects=False)
    assert fixed.status_code == 303
    with sessions() as session:
        survey = session.scalars(select(Survey)).one()
        assert service.template_of(session, survey).id == "management-evaluation"
        assert survey.title == form["title"] and survey.anonymous is False and survey.target_year == "H30"
        assert [n for n, in session.execute(select(Subcommittee.name).where(
            Subcommittee.id.in_(survey.audience_subcommittee_ids)))] == ["子育て部会"]


def test_a_fresh_form_ticks_anonymous_and_names_this_years_era_not_h31(client, sessions):
    logged_in(client, sessions)
    page = client.get("/console/surveys").text
    assert ticked(page, "anonymous")
    year = results.fiscal_year_label(results.fiscal_year(clock.now()))
    field = re.search(r'<input name="target_year"[^>]*>', page)
    assert field and "H31" not in field.group(0) and 'placeholder="空欄で自動"' in field.group(0)
    hint = re.search(r'<p class="hint" id="target-year-hint">(.*?)</p>', page, re.S)
    assert hint and f"今なら{year}" in hint.group(1)
    assert "区政会議に関するアンケートの目標: H30・H31（比べる目標: H31）" in hint.group(1)


def test_an_unreadable_or_missing_date_is_named_next_to_its_field(client, sessions):
    csrf = logged_in(client, sessions)
    base = {"csrf": csrf, "template": "council-questionnaire", "title": "", "target_year": ""}
    page = client.post("/console/surveys", data={**base, "opens_at": "2026-13-45T10:00", "closes_at": ""}).text
    assert error_after(page, "opens_at") == "開始の日時が正しくありません（例: 2026-12-01 10:00）"
    assert error_after(page, "closes_at") == "締切を入れてください"
    assert 'value="2026-13-45T10:00"' in page and not ticked(page, "anonymous")  # unticked stays unticked
    late = client.post("/console/surveys", data={**base, "anonymous": "on", "opens_at": "",
                                                 "closes_at": "2026-02-30T10:00"}).text
    assert error_after(late, "closes_at") == "締切の日時が正しくありません（例: 2026-12-01 10:00）"
    assert error_after(late, "opens_at") is None and ticked(late, "anonymous")


def test_opening_a_survey_past_its_close_says_so_on_its_row(client, sessions):
    csrf = logged_in(client, sessions)
    with transaction(sessions) as session:
        version = service.sync_templates(session)["council-questionnaire"]
        survey = Survey(template_version_id=version.id, title="締切の過ぎた下書き", status="draft",
                        opens_at=clock.now() - dt.timedelta(days=2), closes_at=clock.now() - dt.timedelta(days=1))
        session.add(survey)
        session.flush()
        survey_id = survey.id
    page = client.post(f"/console/surveys/{survey_id}/open", data={"csrf": csrf})
    assert page.status_code == 409
    row = page.text.split("締切の過ぎた下書き", 1)[1].split("</tr>")[0]
    assert '<span class="field-error" role="alert">開始できません: 締切の日時が過ぎています</span>' in row


def test_a_refused_reply_keeps_what_was_typed_next_to_the_field(client, sessions):
    with transaction(sessions) as session:
        user = User(line_user_id="U" + "f" * 32, display_name="港 委員")
        event = Event(title="まちづくり部会（12月）", kind="subcommittee", starts_at=clock.now() + dt.timedelta(days=3),
                      ends_at=clock.now() + dt.timedelta(days=3, hours=2))
        session.add_all([user, event])
        session.flush()
        opinion = Opinion(user_id=user.id, kind="pre_meeting", category="事前意見", event_id=event.id,
                          text="公園のベンチをふやしてください")
        session.add(opinion)
        session.flush()
        opinion_id = opinion.id
    csrf = logged_in(client, sessions)
    typed = "ご意見ありがとうございます。" + "あ" * 4000
    page = client.post(f"/console/opinions/{opinion_id}/reply", data={"csrf": csrf, "reply": typed})
    assert page.status_code == 422
    assert error_after(page.text.replace("<textarea", "<input").replace("</textarea>", ">"), "reply") == \
        "返信は4000文字までです"
    assert f">{typed}</textarea>" in page.text  # every character kept
    assert "まちづくり部会（12月）" in page.text and "ブロック" not in page.text  # the page as it was
    blank = client.post(f"/console/opinions/{opinion_id}/reply", data={"csrf": csrf, "reply": "   "})
    assert blank.status_code == 422 and "返信を入れてください" in blank.text
    with sessions() as session:
        assert session.get(Opinion, opinion_id).reply_text is None


# --------------------------------------------------------------------------- charts, measured roughly


def boxes(svg: str) -> tuple[float, float, list[tuple[str, float, float, float, float]], list[tuple[float, ...]]]:
    """The chart's size, each text's box (text, left, top, right, bottom; the width as the charts measure it) and
    each dashed line (x1, y1, x2, y2)."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    out = []
    for node in root.iter(ns + "text"):
        size = float(node.get("font-size", root.get("font-size", "16")))
        width = results._width(node.text or "", size)
        x, y = float(node.get("x", 0)), float(node.get("y", 0))
        left = {"middle": x - width / 2, "end": x - width}.get(node.get("text-anchor", "start"), x)
        out.append((node.text or "", left, y - size * 0.88, left + width, y + size * 0.12))
    dashed = [tuple(float(node.get(k, 0)) for k in ("x1", "y1", "x2", "y2")) for node in root.iter(ns + "line")
              if node.get("stroke-dasharray")]
    return float(root.get("width", 0)), float(root.get("height", 0)), out, dashed


def overlaps(a: tuple[str, float, float, float, float], b: tuple[str, float, float, float, float]) -> bool:
    return a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]


def check_apart(svg: str) -> list[str]:
    width, height, texts, dashed = boxes(svg)
    problems = [f"{t[0]} leaves the chart" for t in texts if t[1] < 0 or t[3] > width or t[2] < 0 or t[4] > height]
    problems += [f"{a[0]} / {b[0]}" for i, a in enumerate(texts) for b in texts[i + 1:] if overlaps(a, b)]
    problems += [f"{t[0]} on the target line" for t in texts for x1, y1, _x2, y2 in dashed
                 if x1 > 100 and t[1] < x1 < t[3] and t[2] < y2 and y1 < t[4]]  # (not the legend's line)
    return problems


def sample(percents: tuple[float, float], target: float = 80, baseline: float = 75) -> dict[str, Any]:
    indicator = {"name": "適切なフィードバックが行われたと感じる委員の割合（長い名前の指標を折り返して表示する例）",
                 "baseline": {"year": "H29", "percent": baseline}, "target": target, "target_year": "H31",
                 "target_label": "目標（H31）", "survey_year": "令和8年度", "positive_percent": percents[0],
                 "achieved": percents[0] >= target, "status": "達成" if percents[0] >= target else "未達成"}
    missing = {**indicator, "name": "十分に意見交換が行われていると感じる委員の割合", "positive_percent": None,
               "achieved": None, "status": "回答が3件未満のため表示しません", "target": 73, "baseline": {"year": "H29",
                                                                                      "percent": 48}}
    return {"indicators": [indicator, missing]}


@pytest.mark.parametrize(("actual", "target", "baseline"), [(50, 80, 75), (100, 100, 100), (0, 0, 0), (79, 80, 78)])
def test_indicator_labels_stand_apart_whatever_the_values(actual, target, baseline):
    svg = results.indicators_chart(sample((actual, 0), target, baseline))
    assert check_apart(svg) == []
    assert "目標（H31） " in svg and "今回（令和8年度）" in svg and "基準値（H29）" in svg
    assert 'fill="url(#baseline-hatch)"' in svg and "stroke-dasharray" in svg  # not colour alone
    assert "成果指標（アウトカム）と目標" in svg and "成果指標（アウトカム）と目標" not in results.indicators_chart(
        sample((actual, 0), target, baseline), titled=False)


def test_question_charts_wrap_long_choices_and_keep_values_in_their_own_column():
    question = {"id": "q", "text": "区政会議で、委員のみなさんの意見や要望、評価について、十分に意見交換が"
                                   "行われていると感じますか。",
                "short": "意見交換は十分か", "kind": "multiple", "answered": 12,
                "choices": [{"label": "資料・説明のわかりやすさ（1週間前）", "count": 12, "percent": 100.0},
                            {"label": "どちらかといえばそう思わない", "count": 0, "percent": 0.0},
                            {"label": "特にない", "count": 1, "percent": 8.3}]}
    svg = results.question_chart(question)
    assert check_apart(svg) == []
    assert "区政会議で" not in svg and "意見交換は十分か" in svg  # the short label, never the question again
    assert ">資料・説明のわかりやすさ</text>" in svg and ">（1週間前）</text>" in svg  # wrapped, at the bracket
    assert "100%（12件）" in svg and "複数回答" in svg
    on_page = results.question_chart(question, titled=False)
    assert "<title>意見交換は十分か</title>" in on_page and "font-weight=\"bold\"" not in on_page


# --------------------------------------------------------------------------- in the browser


def seed_results(sessions: Any) -> int:
    """A named council questionnaire of 令和8年度 with four answers, one of its 部会 below the small-group size."""
    people(sessions, members={"まちづくり部会": 3, "子育て部会": 1})
    with work(sessions) as unit:
        survey = service.create(unit, service.SurveyInput(
            template_id="council-questionnaire", title="区政会議に関するアンケート（令和8年度）", anonymous=False,
            opens_at=dt.datetime(2026, 12, 1, 10, tzinfo=JST), closes_at=dt.datetime(2026, 12, 15, 17, tzinfo=JST)))
        survey_id = survey.id
    given = [("そう思う", "そう思う", None, "資料が早く届いて助かりました"),
             ("そう思わない", "どちらかといえばそう思う", "時間が短い", None),
             ("どちらかといえばそう思う", "そう思う", None, None),
             ("どちらかといえばそう思わない", "そう思う", "発言しにくい", "部会の時間をもう少し長く")]
    with transaction(sessions) as session:
        members = session.scalars(select(Member).order_by(Member.id)).all()
        for n, (member, (exchange, feedback, reason, comment)) in enumerate(zip(members, given, strict=True)):
            answers: dict[str, Any] = {"exchange": exchange, "feedback": feedback, "documents_early": "十分とれた",
                                       "documents_clear": "どちらかといえばそう思う", "seating": "そう思う",
                                       "focus_items": "そう思う",
                                       "good_changes": ["資料の事前送付（1週間前）", "部会ごとの配席"][: 1 + n % 2]}
            if reason:
                answers["exchange_reason"] = reason
            if comment:
                answers["comment"] = comment
            session.add(SurveyResponse(survey_id=survey_id, member_id=member.id, status="submitted",
                                       answers=answers, submitted_at=clock.now()))
    return survey_id


def results_question(question_id: str) -> str:
    from surveys import definition

    question = definition.load_all()["council-questionnaire"].question(question_id)
    assert question is not None
    return question.text


MEASURE = """() => {
  const out = [];
  document.querySelectorAll('.chart svg').forEach((svg, n) => {
    const frame = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    });
    const lines = [...svg.querySelectorAll('line[stroke-dasharray]')].map(l => l.getBoundingClientRect())
      .filter(r => r.height > 20);
    out.push({n, frame: {left: frame.left, top: frame.top, right: frame.right, bottom: frame.bottom}, texts, lines});
  });
  return out;
}"""


def measured_problems(charts: list[dict[str, Any]]) -> list[str]:
    """Texts (as Chromium drew them) that overlap, leave their chart, or lie on a target line."""
    problems = []
    for chart in charts:
        frame, texts = chart["frame"], chart["texts"]
        for t in texts:
            if t["left"] < frame["left"] - 0.5 or t["right"] > frame["right"] + 0.5:
                problems.append(f"chart {chart['n']}: {t['text']} is cut")
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                if a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5 and \
                        a["top"] < b["bottom"] - 2 and b["top"] < a["bottom"] - 2:
                    problems.append(f"chart {chart['n']}: {a['text']} / {b['text']}")
        for line in chart["lines"]:
            for t in texts:
                crossed = t["left"] < line["left"] < t["right"] and t["top"] < line["bottom"] \
                    and line["top"] < t["bottom"] - 2
                if crossed and "未満" not in t["text"]:  # that one stands on a white ground of its own
                    problems.append(f"chart {chart['n']}: {t['text']} on the target line")
    return problems


def test_a_clerk_fixes_only_the_date_and_gets_the_survey_first_chosen(database_url, sessions, line):
    people(sessions, members={"まちづくり部会": 2, "子育て部会": 1, "安全・安心部会": 1})
    make_staff(sessions, name="区役所 花子", role="editor")
    app = create_app(make_settings(database_url, line, quiet_hours_start=0, quiet_hours_end=0))
    opens = (clock.now() + dt.timedelta(days=5)).astimezone(JST).replace(second=0, microsecond=0)
    with serve(app) as base, browser_page() as page:
        page.goto(base + "/console/surveys")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('アンケート')")
        assert "H31" not in (page.get_attribute("input[name=target_year]", "placeholder") or "")

        page.select_option("select[name=template]", "management-evaluation")
        page.fill("input[name=title]", "運営方針 委員評価（令和8年度）")
        page.fill("input[name=opens_at]", local(opens))
        page.fill("input[name=closes_at]", local(opens - dt.timedelta(hours=2)))  # before the start
        page.fill("input[name=target_year]", "H30")
        page.check("input[name=subcommittee][value='子育て部会']")
        page.check("input[name=subcommittee][value='安全・安心部会']")
        page.uncheck("input[name=anonymous]")
        page.click("button:has-text('作る')")

        error = page.wait_for_selector("label:has(input[name=closes_at]) .field-error")
        assert error.inner_text() == "開始より後（未来）の日時にしてください"
        assert page.evaluate("document.activeElement.name") == "closes_at"  # the browser took the clerk there
        screenshot(page, "console-survey-form-error")
        assert page.input_value("select[name=template]") == "management-evaluation"
        assert page.input_value("input[name=title]") == "運営方針 委員評価（令和8年度）"
        assert page.input_value("input[name=opens_at]") == local(opens)
        assert page.input_value("input[name=target_year]") == "H30"
        assert page.is_checked("input[name=subcommittee][value='子育て部会']")
        assert page.is_checked("input[name=subcommittee][value='安全・安心部会']")
        assert not page.is_checked("input[name=subcommittee][value='まちづくり部会']")
        assert not page.is_checked("input[name=anonymous]")

        page.fill("input[name=closes_at]", local(opens + dt.timedelta(days=14)))  # only the date
        page.click("button:has-text('作る')")
        page.wait_for_selector("text=登録しました。")
        screenshot(page, "console-surveys")
    with sessions() as session:
        survey = session.scalars(select(Survey)).one()
        assert service.template_of(session, survey).id == "management-evaluation"
        assert survey.anonymous is False and survey.target_year == "H30"
        assert survey.title == "運営方針 委員評価（令和8年度）" and survey.opens_at == opens
        names = set(session.scalars(select(Subcommittee.name).where(
            Subcommittee.id.in_(survey.audience_subcommittee_ids))))
        assert names == {"子育て部会", "安全・安心部会"}


def test_the_results_page_reads_on_screen_and_in_black_and_white_print(database_url, sessions, line):
    survey_id = seed_results(sessions)
    make_staff(sessions, name="区役所 花子", role="viewer")
    app = create_app(make_settings(database_url, line))
    with serve(app) as base, browser_page() as page:
        page.goto(base + f"/console/surveys/{survey_id}")
        page.fill("input[name=name]", "区役所 花子")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h2:has-text('成果指標と目標')")
        text = page.inner_text("main")
        assert "令和8年度" in text and "目標（H31） 73%" in text
        assert "令和8年度の目標はないため、H31の目標と比べています" in text
        question = results_question("exchange")
        assert text.count(question) == 1  # the heading; the chart does not say it again
        charts = page.evaluate(MEASURE)
        assert len(charts) >= 7 and measured_problems(charts) == []
        screenshot(page, "console-survey-results")

        page.emulate_media(media="print")
        assert page.is_hidden("header.top") and page.is_hidden("text=集計をExcelで")
        assert page.evaluate("getComputedStyle(document.querySelector('td.ng')).color") == "rgb(0, 0, 0)"
        assert measured_problems(page.evaluate(MEASURE)) == []
        screenshot(page, "console-survey-results-print")
    # as a black-and-white printer would have it: the hatching, the dashes and the words still tell them apart
    from PIL import Image

    Image.open(SCREENSHOTS / "console-survey-results-print.png").convert("L").save(
        SCREENSHOTS / "console-survey-results-print-grey.png")
