"""Dates in every common form (events/dates.py): a corpus of phrasings residents write, each with the range it
means on a fixed day (Thursday 1 October 2026), which must pass at 95 % or more; a property test that a text with a
date-like word never gets the plain list of events silently; and the answers the bot gives for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import demo
from bot import clock
from events import dates, search
from tests.fakeline.server import FakeLine
from tests.helpers import Bot, Phone, actions, new_user_id, texts, work

TODAY = dt.date(2026, 10, 1)  # a Thursday: this week is 9/28–10/4, next week 10/5–10/11
NOW = dt.datetime(2026, 10, 1, 10, 0, tzinfo=clock.JST)

# (phrase, what it means): "10/07" a day of 2026, "2027/07/18" a day of another year, "A..B" a range (both ends
# included), "A,B,C" only those days, "A.." from A with no end (a year on), "bad" a date that does not exist,
# "unknown" a date-like phrase the bot must say it did not understand.
CORPUS: list[tuple[str, str]] = [
    # --- relative days
    ("今日", "10/01"), ("きょう", "10/01"), ("キョウ", "10/01"), ("本日", "10/01"), ("今夜", "10/01"),
    ("今晩のイベント", "10/01"), ("今朝", "10/01"), ("today", "10/01"), ("tonight", "10/01"),
    ("本日のイベントは？", "10/01"), ("明日", "10/02"), ("あした", "10/02"), ("あす", "10/02"),
    ("明日のイベント", "10/02"), ("tomorrow", "10/02"), ("明日の夜", "10/02"), ("あさって", "10/03"),
    ("明後日", "10/03"), ("アサッテ", "10/03"), ("day after tomorrow", "10/03"), ("しあさって", "10/04"),
    ("明々後日", "10/04"), ("明明後日", "10/04"), ("シアサッテ", "10/04"), ("3日後", "10/04"),
    ("３日後", "10/04"), ("三日後", "10/04"), ("10日後", "10/11"), ("十日後のイベント", "10/11"),
    ("1日後", "10/02"), ("7日後", "10/08"), ("30日後", "10/31"), ("in 3 days", "10/04"),
    ("5 days later", "10/06"), ("3日あと", "10/04"),
    # --- weeks
    ("今週", "09/28..10/04"), ("今週のイベント", "09/28..10/04"), ("こんしゅう", "09/28..10/04"),
    ("this week", "09/28..10/04"), ("来週", "10/05..10/11"), ("らいしゅう", "10/05..10/11"),
    ("来週のイベント", "10/05..10/11"), ("next week", "10/05..10/11"), ("ライシュウ", "10/05..10/11"),
    ("再来週", "10/12..10/18"), ("さらいしゅう", "10/12..10/18"), ("来々週", "10/12..10/18"),
    ("再来週のイベント", "10/12..10/18"), ("the week after next", "10/12..10/18"),
    ("今週末", "10/03..10/04"), ("週末", "10/03..10/04"), ("週末のイベント", "10/03..10/04"),
    ("this weekend", "10/03..10/04"), ("weekend", "10/03..10/04"), ("土日", "10/03..10/04"),
    ("来週末", "10/10..10/11"), ("next weekend", "10/10..10/11"), ("再来週末", "10/17..10/18"),
    ("来週の土日", "10/10..10/11"), ("再来週の週末", "10/17..10/18"), ("週明け", "10/05"),
    ("1週間後", "10/05..10/11"), ("2週間後", "10/12..10/18"), ("二週間後", "10/12..10/18"),
    ("3週間後", "10/19..10/25"), ("in 2 weeks", "10/12..10/18"), ("2週間後の土曜日", "10/17"),
    ("1週間以内", "10/01..10/08"), ("今後1週間", "10/01..10/08"), ("これから2週間", "10/01..10/15"),
    ("3日以内", "10/01..10/04"), ("next 7 days", "10/01..10/08"), ("平日", "10/01..10/02"),
    ("来週の平日", "10/05..10/09"), ("来週前半", "10/05..10/07"), ("来週の後半", "10/08..10/11"),
    # --- a weekday, alone or narrowing a week or month
    ("来週の水曜日", "10/07"), ("来週水曜", "10/07"), ("来週の水曜", "10/07"), ("来週の水曜日のイベント", "10/07"),
    ("今週の土曜", "10/03"), ("今週の土曜日", "10/03"), ("今週土曜", "10/03"), ("再来週の日曜", "10/18"),
    ("再来週の日曜日", "10/18"), ("来週の月曜", "10/05"), ("来週金曜日", "10/09"), ("土曜日", "10/03"),
    ("土曜", "10/03"), ("どようび", "10/03"), ("日曜", "10/04"), ("日曜日", "10/04"), ("水曜日", "10/07"),
    ("木曜日", "10/01"), ("月曜日のイベント", "10/05"), ("次の土曜日", "10/03"), ("今度の日曜", "10/04"),
    ("この土曜", "10/03"), ("つぎの火曜", "10/06"), ("(土)", "10/03"), ("（日）", "10/04"),
    ("Saturday", "10/03"), ("next Saturday", "10/03"), ("this Sunday", "10/04"), ("on Friday", "10/02"),
    ("monday", "10/05"), ("saturday events", "10/03"), ("第2土曜日", "10/10"), ("第二土曜日", "10/10"),
    ("第２土曜", "10/10"), ("今月の第二木曜日", "10/08"), ("今月の第2木曜", "10/08"),
    ("来月の第1日曜日", "11/01"), ("11月の第3土曜日", "11/21"), ("第1木曜日", "10/01"), ("第1月曜日", "10/05"),
    ("最終土曜日", "10/31"), ("今月の最後の金曜日", "10/30"), ("来月の最終日曜", "11/29"), ("毎週土曜日", "10/03"),
    ("10月の土曜日", "10/03,10/10,10/17,10/24,10/31"), ("今月の日曜日", "10/04,10/11,10/18,10/25"),
    ("来週の月曜から水曜", "10/05..10/07"), ("first Monday of November", "11/02"),
    ("second saturday in october", "10/10"), ("10月の週末", "10/03,10/04,10/10,10/11,10/17,10/18,10/24,10/25,10/31"),
    # --- months and their parts
    ("今月", "10/01..10/31"), ("今月のイベント", "10/01..10/31"), ("こんげつ", "10/01..10/31"),
    ("this month", "10/01..10/31"), ("来月", "11/01..11/30"), ("来月のイベント", "11/01..11/30"),
    ("next month", "11/01..11/30"), ("再来月", "12/01..12/31"), ("さらいげつ", "12/01..12/31"),
    ("1か月後", "11/01..11/30"), ("2ヶ月後", "12/01..12/31"), ("一ヶ月後", "11/01..11/30"),
    ("来月の11日", "11/11"), ("来月11日", "11/11"), ("今月の20日", "10/20"), ("再来月の1日", "12/01"),
    ("10月", "10/01..10/31"), ("１０月", "10/01..10/31"), ("十月", "10/01..10/31"), ("11月", "11/01..11/30"),
    ("十一月のイベント", "11/01..11/30"), ("12月", "12/01..12/31"), ("1月", "2027/01/01..2027/01/31"),
    ("9月", "2027/09/01..2027/09/30"), ("3月", "2027/03/01..2027/03/31"), ("October", "10/01..10/31"),
    ("october events", "10/01..10/31"), ("in November", "11/01..11/30"), ("events in december", "12/01..12/31"),
    ("Jan", "2027/01/01..2027/01/31"), ("in May", "2027/05/01..2027/05/31"), ("月末", "10/25..10/31"),
    ("今月末", "10/25..10/31"), ("来月末", "11/25..11/30"), ("10月末", "10/25..10/31"), ("上旬", "10/01..10/10"),
    ("中旬", "10/11..10/20"), ("下旬", "10/21..10/31"), ("来月上旬", "11/01..11/10"),
    ("来月の上旬", "11/01..11/10"), ("11月中旬", "11/11..11/20"), ("12月下旬", "12/21..12/31"),
    ("2027年7月中旬", "2027/07/11..2027/07/20"), ("2027年2月下旬", "2027/02/21..2027/02/28"),
    ("来月初め", "11/01..11/10"), ("11月の前半", "11/01..11/15"), ("11月後半", "11/16..11/30"),
    ("今月半ば", "10/11..10/20"), ("月初", "10/01..10/05"), ("10月初旬", "10/01..10/10"),
    ("令和9年7月", "2027/07/01..2027/07/31"), ("2027年7月", "2027/07/01..2027/07/31"),
    ("2027/7", "2027/07/01..2027/07/31"), ("2027-07", "2027/07/01..2027/07/31"),
    ("early November", "11/01..11/10"), ("late October", "10/21..10/31"), ("mid december", "12/11..12/20"),
    ("end of the month", "10/25..10/31"),
    # --- dates, with or without a year, in any separator and width, 令和 / R, kanji numerals, a weekday
    ("2027/7/18", "2027/07/18"), ("2027-07-18", "2027/07/18"), ("2027.7.18", "2027/07/18"),
    ("2027年7月18日", "2027/07/18"), ("２０２７年７月１８日", "2027/07/18"), ("2027年07月18日", "2027/07/18"),
    ("2027/07/18", "2027/07/18"), ("２０２７／７／１８", "2027/07/18"), ("2027 / 7 / 18", "2027/07/18"),
    ("令和9/7/18", "2027/07/18"), ("令和9年7月18日", "2027/07/18"), ("令和九年七月十八日", "2027/07/18"),
    ("R9/7/18", "2027/07/18"), ("R9.7.18", "2027/07/18"), ("r9-7-18", "2027/07/18"), ("Ｒ９．７．１８", "2027/07/18"),
    ("2027年7月18日(日)", "2027/07/18"), ("2027/7/18(日)", "2027/07/18"), ("令和8年12月24日", "12/24"),
    ("10月10日", "10/10"), ("10/10", "10/10"), ("１０／１０", "10/10"), ("十月十日", "10/10"),
    ("10月10日(土)", "10/10"), ("10/10(土)", "10/10"), ("10/10（土）", "10/10"), ("10月10日（土曜日）", "10/10"),
    ("10月10日 土曜日", "10/10"), ("10月17日のイベント", "10/17"), ("10月17日", "10/17"), ("18日", "10/18"),
    ("18日のイベント", "10/18"), ("十八日", "10/18"), ("30日", "10/30"), ("1日", "10/01"), ("11月3日", "11/03"),
    ("11/3", "11/03"), ("12月24日", "12/24"), ("12/25", "12/25"), ("1月1日", "2027/01/01"), ("1/1", "2027/01/01"),
    ("2月14日", "2027/02/14"), ("9月29日", "2027/09/29"), ("3月31日", "2027/03/31"), ("7月7日", "2027/07/07"),
    ("October 17", "10/17"), ("Oct 17", "10/17"), ("17 October", "10/17"), ("October 17th", "10/17"),
    ("17th of October", "10/17"), ("November 3, 2027", "2027/11/03"), ("2026年12月24日", "12/24"),
    ("2026/12/24", "12/24"), ("2026-12-24", "12/24"), ("2028年2月29日", "2028/02/29"), ("2月29日", "2028/02/29"),
    ("10月7日", "10/07"), ("10月7日(水)", "10/07"),
    # --- years and fiscal years (年度: April to March)
    ("2027年", "2027/01/01..2027/12/31"), ("2027年のイベント", "2027/01/01..2027/12/31"),
    ("来年", "2027/01/01..2027/12/31"), ("らいねん", "2027/01/01..2027/12/31"), ("今年", "2026/01/01..2026/12/31"),
    ("ことし", "2026/01/01..2026/12/31"), ("再来年", "2028/01/01..2028/12/31"), ("令和9年", "2027/01/01..2027/12/31"),
    ("令和8年", "2026/01/01..2026/12/31"), ("next year", "2027/01/01..2027/12/31"),
    ("this year", "2026/01/01..2026/12/31"), ("2027", "2027/01/01..2027/12/31"),
    ("in 2027", "2027/01/01..2027/12/31"),
    ("2026年度", "2026/04/01..2027/03/31"), ("今年度", "2026/04/01..2027/03/31"),
    ("本年度", "2026/04/01..2027/03/31"),
    ("来年度", "2027/04/01..2028/03/31"), ("令和8年度", "2026/04/01..2027/03/31"),
    ("令和9年度", "2027/04/01..2028/03/31"), ("2027年度", "2027/04/01..2028/03/31"), ("年内", "10/01..12/31"),
    ("2027年の7月", "2027/07/01..2027/07/31"), ("来年の3月", "2027/03/01..2027/03/31"),
    ("2026年度の3月", "2027/03/01..2027/03/31"), ("今年度末", "2027/03/21..2027/03/31"),
    ("2027年末", "2027/12/21..2027/12/31"), ("来年の夏休み", "2027/07/20..2027/08/31"),
    ("来年のGW", "2027/04/29..2027/05/05"), ("再来年の4月", "2028/04/01..2028/04/30"),
    # --- ranges across days, weekdays and months
    ("2/1〜2/14", "2027/02/01..2027/02/14"), ("2/1~2/14", "2027/02/01..2027/02/14"),
    ("2/1-2/14", "2027/02/01..2027/02/14"), ("2月1日から2月14日まで", "2027/02/01..2027/02/14"),
    ("2月1日〜14日", "2027/02/01..2027/02/14"), ("２／１～２／１４", "2027/02/01..2027/02/14"),
    ("10日-20日", "10/10..10/20"), ("10日〜20日", "10/10..10/20"), ("10〜20日", "10/10..10/20"),
    ("10日から20日まで", "10/10..10/20"), ("10日から20日にかけて", "10/10..10/20"), ("10日ー20日", "10/10..10/20"),
    ("土曜日～月曜日", "10/03..10/05"), ("土曜から月曜", "10/03..10/05"), ("土曜〜月曜", "10/03..10/05"),
    ("金曜日から日曜日まで", "10/02..10/04"), ("4月から5月にかけて", "2027/04/01..2027/05/31"),
    ("4月〜5月", "2027/04/01..2027/05/31"), ("4〜5月", "2027/04/01..2027/05/31"),
    ("4月-5月", "2027/04/01..2027/05/31"),
    ("12月〜2月", "12/01..2027/02/28"), ("11月から12月", "11/01..12/31"), ("10月10日〜10月17日", "10/10..10/17"),
    ("10/10-10/17", "10/10..10/17"), ("10/10〜17", "10/10..10/17"), ("今日から日曜まで", "10/01..10/04"),
    ("今週末から来週末まで", "10/03..10/11"), ("2027/7/18〜2027/7/20", "2027/07/18..2027/07/20"),
    ("2027年7月18日〜20日", "2027/07/18..2027/07/20"), ("令和9年4月〜6月", "2027/04/01..2027/06/30"),
    ("from October 10 to October 17", "10/10..10/17"), ("10/10 to 10/17", "10/10..10/17"),
    ("10月25日〜11月3日", "10/25..11/03"), ("12月24日〜1月3日", "12/24..2027/01/03"),
    ("10月10日から", "10/10.."), ("10月10日以降", "10/10.."), ("10月10日まで", "10/01..10/10"),
    ("〜10月10日", "10/01..10/10"), ("11月末まで", "10/01..11/30"), ("来週から", "10/05.."),
    ("土曜と日曜", "10/03..10/04"), ("10日と17日", "10/10,10/17"), ("12月24日と25日", "12/24..12/25"),
    ("10月と11月", "10/01..11/30"), ("今日と明日", "10/01..10/02"), ("今日明日", "10/01..10/02"),
    ("10月10日か11日", "10/10..10/11"), ("来週の土曜と日曜", "10/10..10/11"), ("土・日", "10/03..10/04"),
    ("10月から12月", "10/01..12/31"),
    # --- national holidays, well-known days and the usual periods
    ("こどもの日", "2027/05/05"), ("子供の日", "2027/05/05"), ("子どもの日", "2027/05/05"), ("海の日", "2027/07/19"),
    ("勤労感謝の日", "11/23"), ("文化の日", "11/03"), ("スポーツの日", "10/12"), ("体育の日", "10/12"),
    ("元日", "2027/01/01"), ("元旦", "2027/01/01"), ("成人の日", "2027/01/11"), ("建国記念の日", "2027/02/11"),
    ("建国記念日", "2027/02/11"), ("天皇誕生日", "2027/02/23"), ("春分の日", "2027/03/21"),
    ("昭和の日", "2027/04/29"),
    ("憲法記念日", "2027/05/03"), ("みどりの日", "2027/05/04"), ("山の日", "2027/08/11"), ("敬老の日", "2027/09/20"),
    ("秋分の日", "2027/09/23"), ("2027年のこどもの日", "2027/05/05"), ("来年の海の日", "2027/07/19"),
    ("2028年の海の日", "2028/07/17"), ("祝日", "10/12"), ("次の祝日", "10/12"), ("今月の祝日", "10/12"),
    ("11月の祝日", "11/03,11/23"), ("大晦日", "12/31"), ("大みそか", "12/31"), ("クリスマス・イブ", "12/24"),
    ("クリスマスイブ", "12/24"), ("クリスマスイヴ", "12/24"), ("クリスマス", "12/25"), ("七夕", "2027/07/07"),
    ("たなばた", "2027/07/07"), ("ひなまつり", "2027/03/03"), ("ひな祭り", "2027/03/03"),
    ("バレンタイン", "2027/02/14"),
    ("ハロウィン", "10/31"), ("母の日", "2027/05/09"), ("父の日", "2027/06/20"), ("年末年始", "12/29..2027/01/03"),
    ("ねんまつねんし", "12/29..2027/01/03"), ("年末", "12/21..12/31"), ("お正月", "2027/01/01..2027/01/03"),
    ("正月", "2027/01/01..2027/01/03"), ("三が日", "2027/01/01..2027/01/03"), ("GW", "2027/04/29..2027/05/05"),
    ("ゴールデンウィーク", "2027/04/29..2027/05/05"), ("ｺﾞｰﾙﾃﾞﾝｳｨｰｸ", "2027/04/29..2027/05/05"),
    ("gw", "2027/04/29..2027/05/05"), ("ＧＷ", "2027/04/29..2027/05/05"), ("golden week", "2027/04/29..2027/05/05"),
    ("お盆", "2027/08/13..2027/08/16"), ("お盆休み", "2027/08/13..2027/08/16"), ("夏休み", "2027/07/20..2027/08/31"),
    ("冬休み", "12/25..2027/01/07"), ("春休み", "2027/03/25..2027/04/07"),
    ("2027年の冬休み", "2027/12/25..2028/01/07"),
    ("3連休", "10/10..10/12"), ("連休", "10/10..10/12"), ("11月の連休", "11/21..11/23"), ("christmas", "12/25"),
    ("christmas eve", "12/24"), ("new year's eve", "12/31"), ("halloween", "10/31"), ("秋", "09/01..11/30"),
    ("冬", "12/01..2027/02/28"), ("春", "2027/03/01..2027/05/31"), ("夏", "2027/06/01..2027/08/31"),
    ("来年の春", "2027/03/01..2027/05/31"), ("summer vacation", "2027/07/20..2027/08/31"),
    ("GWのイベント", "2027/04/29..2027/05/05"), ("お盆のイベント教えて", "2027/08/13..2027/08/16"),
    ("年末年始のイベント", "12/29..2027/01/03"), ("クリスマスのイベント", "12/25"),
    ("こどもの日のイベント", "2027/05/05"),
    # --- the past (the answer says it has passed)
    ("先週", "09/21..09/27"), ("せんしゅう", "09/21..09/27"), ("last week", "09/21..09/27"),
    ("先々週", "09/14..09/20"),
    ("昨日", "09/30"), ("きのう", "09/30"), ("yesterday", "09/30"), ("おととい", "09/29"), ("一昨日", "09/29"),
    ("先月", "09/01..09/30"), ("last month", "09/01..09/30"), ("去年", "2025/01/01..2025/12/31"),
    ("昨年", "2025/01/01..2025/12/31"), ("9/30", "09/30"), ("9月30日", "09/30"), ("先週の土曜", "09/26"),
    ("先週末", "09/26..09/27"), ("2025年", "2025/01/01..2025/12/31"), ("2026年9月", "09/01..09/30"),
    ("2026/9/1", "09/01"), ("令和7年", "2025/01/01..2025/12/31"), ("昨年度", "2025/04/01..2026/03/31"),
    ("3日前", "09/28"), ("last saturday", "09/26"), ("2026年の敬老の日", "09/21"), ("昨日のイベント", "09/30"),
    # --- dates that do not exist
    ("2月30日", "bad"), ("2/30", "bad"), ("13月", "bad"), ("32日", "bad"), ("4月31日", "bad"), ("11月31日", "bad"),
    ("今月の第5水曜日", "bad"), ("第6土曜日", "bad"), ("2027/2/29", "bad"), ("2027年13月", "bad"),
    ("令和9年2月30日", "bad"), ("0月", "bad"), ("2月30日のイベント", "bad"), ("13/1", "bad"),
    # --- date-like phrases not understood: the answer says so
    ("翌日", "unknown"), ("前日のイベント", "unknown"), ("第3週", "unknown"), ("来月の第2週", "unknown"),
    ("10月の第1週", "unknown"), ("毎月のイベント", "unknown"), ("毎週", "unknown"), ("当日", "unknown"),
    ("先日のイベント", "unknown"), ("次の日", "unknown"), ("3日間", "unknown"), ("27/7/18", "unknown"),
    ("休日のイベント", "unknown"), ("来週の火曜の次の日", "unknown"), ("5年", "unknown"),
    # --- written afterwards and run once, untouched: all 50 read as meant the first time
    ("来週の木曜日のイベント", "10/08"), ("再来週の土曜日", "10/17"), ("来月の第2日曜日", "11/08"),
    ("今月の第4土曜", "10/24"),
    ("11月の最終金曜日", "11/27"), ("12月の第1土曜日", "12/05"), ("来月の15日", "11/15"), ("今月の25日", "10/25"),
    ("2027年3月上旬", "2027/03/01..2027/03/10"), ("来年1月中旬", "2027/01/11..2027/01/20"),
    ("12月中旬", "12/11..12/20"),
    ("令和9年1月1日", "2027/01/01"), ("R8/12/24", "12/24"), ("2026.12.31", "12/31"),
    ("２０２６－１１－０３", "11/03"),
    ("十二月二十四日", "12/24"), ("十一月三日", "11/03"), ("11月23日(月)", "11/23"), ("12/24（木）", "12/24"),
    ("5日後", "10/06"),
    ("4週間後", "10/26..11/01"), ("3か月後", "2027/01/01..2027/01/31"), ("来週の日曜日まで", "10/01..10/11"),
    ("11/1〜11/3", "11/01..11/03"), ("11月1日から3日まで", "11/01..11/03"), ("水曜から金曜", "10/07..10/09"),
    ("10月20日〜25日", "10/20..10/25"), ("1月〜3月", "2027/01/01..2027/03/31"),
    ("来週の土曜日と日曜日", "10/10..10/11"),
    ("文化の日のイベント", "11/03"), ("敬老の日はなにかある", "2027/09/20"), ("来年のお盆", "2027/08/13..2027/08/16"),
    ("今年の冬休み", "12/25..2027/01/07"), ("今年の年末", "12/21..12/31"), ("2027年のクリスマス", "2027/12/25"),
    ("大晦日のイベント", "12/31"),
    ("元日のイベント", "2027/01/01"), ("next friday", "10/02"), ("this saturday", "10/03"), ("november 23", "11/23"),
    ("Dec 24", "12/24"), ("early december", "12/01..12/10"), ("next weekend events", "10/10..10/11"),
    ("events on sunday", "10/04"), ("先月の20日", "09/20"), ("先週の日曜日", "09/27"),
    ("おとといのイベント", "09/29"), ("2月31日", "bad"),
    ("来月の第5金曜日", "bad"), ("翌週の翌日", "unknown"),
]


def _date(text: str) -> dt.date:
    parts = [int(p) for p in text.split("/")]
    return dt.date(*parts) if len(parts) == 3 else dt.date(2026, *parts)


def _expected(spec: str) -> tuple[dt.date, dt.date, frozenset[dt.date] | None, bool]:
    if "," in spec:
        days = [_date(d) for d in spec.split(",")]
        return days[0], days[-1], frozenset(days), False
    if spec.endswith(".."):
        start = _date(spec[:-2])
        return start, start + dates.OPEN_END, None, True
    first, _, last = spec.partition("..")
    return _date(first), _date(last or first), None, False


def _outcome(phrase: str) -> str:
    reading = dates.read(phrase, TODAY)
    if reading.bad:
        return "bad"
    if reading.unknown:
        return "unknown"
    if reading.range is None:
        return "nothing"
    found = reading.range
    days = tuple(sorted(found.days)) if found.days is not None and len(found.days) > 1 else None
    return repr((found.start, found.end, days, found.open_end))


def _wanted(spec: str) -> str:
    if spec in ("bad", "unknown"):
        return spec
    start, end, days, open_end = _expected(spec)
    return repr((start, end, tuple(sorted(days)) if days else None, open_end))


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    phrases = [p for p, _ in CORPUS]
    assert len(phrases) >= 300
    assert len(set(phrases)) == len(phrases), {p for p in phrases if phrases.count(p) > 1}
    assert sum(1 for _, s in CORPUS if s == "bad") >= 10 and sum(1 for _, s in CORPUS if s == "unknown") >= 10
    assert sum(1 for _, s in CORPUS if ".." in s) >= 100 and sum(1 for _, s in CORPUS if "," in s) >= 4


def test_at_least_95_percent_of_the_corpus_is_read_as_meant() -> None:
    wrong = [(phrase, spec, _outcome(phrase)) for phrase, spec in CORPUS if _outcome(phrase) != _wanted(spec)]
    rate = 1 - len(wrong) / len(CORPUS)
    print(f"\ncorpus: {len(CORPUS) - len(wrong)} of {len(CORPUS)} read as meant ({rate:.1%})")
    for phrase, spec, got in wrong:
        print(f"  {phrase!r}: wanted {spec}, got {got}")
    assert rate >= 0.95, wrong


def test_the_phrases_of_the_issue_are_read_exactly() -> None:
    """Those the issue's measurements found misread: each of them must be right (not only 95 % of them)."""
    must = ["再来週", "再来月", "しあさって", "来週の水曜日", "今週の土曜", "来月の11日", "今月の第二木曜日",
            "2027年7月中旬",
            "2027/7/18", "2027-07-18", "2027.7.18", "令和9/7/18", "18日", "3日後", "本日", "今夜", "明々後日",
            "10月10日(土)", "2027年", "来年", "今年", "2026年度", "2/1〜2/14", "10日-20日", "土曜日～月曜日",
            "4月から5月にかけて", "こどもの日", "海の日", "勤労感謝の日", "年末年始", "GW", "お盆", "October",
            "next Saturday", "this weekend"]
    corpus = dict(CORPUS)
    assert [(p, _outcome(p)) for p in must if _outcome(p) != _wanted(corpus[p])] == []


def test_the_words_left_are_what_names_an_event() -> None:
    query = search.parse("10月17日の区民まつり", TODAY)
    assert query.dates is not None and (query.dates.start, query.rest) == (dt.date(2026, 10, 17), "区民まつり")
    query = search.parse("今度の土曜日に八幡屋公園で何かある？", TODAY)
    assert query.dates is not None and query.dates.start == dt.date(2026, 10, 3) and "八幡屋公園" in query.rest
    query = search.parse("来週の土日のこどもイベント", TODAY)
    assert query.dates is not None and query.categories == {"こども"} and query.wants_events
    assert search.parse("ライブ", TODAY).dates is None  # イブ inside a word is no Christmas Eve
    assert search.parse("May I ask about the festival", TODAY).dates is None


def test_ranges_are_said_in_the_readers_language() -> None:
    october = dates.read("October", TODAY).range
    assert october is not None
    assert dates.describe(october, "en", TODAY) == "in October"
    assert dates.describe(october, "ja", TODAY) == "10月"
    week = dates.read("再来週", TODAY).range
    assert week is not None
    assert dates.describe(week, "ja", TODAY) == "再来週（10月12日(月)〜10月18日(日)）"
    assert dates.describe(week, "en", TODAY) == "from Mon 12 October to Sun 18 October"
    day = dates.read("2027/7/18", TODAY).range
    assert day is not None
    assert dates.describe(day, "ja", TODAY) == "2027年7月18日(日)"
    assert dates.describe(day, "en", TODAY) == "on Sun 18 July 2027"
    saturdays = dates.read("11月の祝日", TODAY).range
    assert saturdays is not None and dates.describe(saturdays, "en", TODAY) == "on Tue 3 November, Mon 23 November"


# --------------------------------------------------------------------------- never the plain list silently

DATE_LIKE_TOKENS = [
    # understood
    "今日", "明日", "再来週", "来週の水曜日", "来月の11日", "第2土曜日", "2027/7/18", "10月10日(土)", "令和9年",
    "2026年度",
    "2/1〜2/14", "GW", "お盆", "年末年始", "こどもの日", "18日", "3日後", "先週", "昨日", "上旬", "月末", "週明け",
    # not existing or not understood
    "2月30日", "13月", "32日", "第3週", "翌日", "前日", "毎月", "当日", "3日間", "27/7/18", "10月の第1週", "休日",
    "第9土曜",
]
NOISE = st.text(alphabet=st.sampled_from(list("あいうえおかきくけこさしすせそイベント公園区民まつり会館は？!、。 abc")),
                max_size=8)


def _date_like_text() -> st.SearchStrategy[str]:
    digits = st.integers(min_value=0, max_value=99).map(str)
    built = st.one_of(
        st.sampled_from(DATE_LIKE_TOKENS),
        st.builds(lambda n, unit: f"{n}{unit}", digits,
                  st.sampled_from(["日", "月", "年", "週", "週間後", "日後", "か月後"])),
        st.builds(lambda a, b: f"{a}/{b}", digits, digits),
        st.builds(lambda w, s: f"{w}{s}", st.sampled_from(list("月火水木金土日")), st.sampled_from(["曜", "曜日"])),
        st.builds(lambda a, b: f"{a}月{b}日", digits, digits),
    )
    # a Latin token glued to Latin letters is another word ("GWa"): English tokens stand apart, as words do
    return st.builds(lambda before, token, after: before + (f" {token} " if token.isascii() else token) + after,
                     NOISE, built, NOISE)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_date_like_text(), st.booleans())
def test_a_text_with_a_date_like_word_never_gets_the_plain_list(text: str, with_event_word: bool) -> None:
    query = search.parse(text + ("のイベント" if with_event_word else ""), TODAY)
    assert query.dates or query.bad_date or query.unknown_date, text


# --------------------------------------------------------------------------- the answers


@pytest.fixture
def ward(sessions: Any) -> Any:
    """The demo's events, placed relative to 2026-10-01 (Thu)."""
    with time_machine.travel(NOW, tick=True) as traveller:
        with work(sessions) as unit:
            demo.load(unit)
        yield traveller


def test_the_answers_say_what_was_understood(bot: Bot, line: FakeLine, ward: Any) -> None:
    phone = Phone(bot, line, new_user_id())
    phone.follow()
    unknown = phone.say("翌日のイベント")
    assert "『翌日』の日付がわかりませんでした" in texts(unknown)
    assert "「10月17日」「来週の土曜日」" in texts(unknown)
    labels = [a["label"] for a in actions(unknown)]
    assert labels[:2] == ["10月17日", "来週の土曜日"]  # examples to tap
    assert "みなとピクニック" in labels  # and what is coming
    passed = phone.say("先週のイベント")
    assert "先週（9月21日(月)〜9月27日(日)）は もう すぎています" in texts(passed)
    assert "みなとピクニック" in [a["label"] for a in actions(passed)]
    none = phone.say("再来月")
    assert "再来月（12月）のイベントは見つかりませんでした" in texts(none)
    assert "2月30日という日は ないようです" in texts(phone.say("2月30日"))
    assert "港区民まつり" in texts(phone.say("再来週のイベント"))
    assert "ふれあい音楽会" in texts(phone.say("来週の火曜日"))
    assert "オープンファクトリー" in texts(phone.say("10/20〜10/25"))
    saturdays = phone.say("10月の土曜日")  # only Saturdays: わんぱくまつり (10), 区民まつり (17)
    assert "わんぱくまつり" in texts(saturdays) and "港区民まつり" in texts(saturdays)
    assert "ふれあい音楽会" not in texts(saturdays)
    assert "『翌日』の日付がわかりませんでした" in texts(phone.say("翌日の区民まつり"))  # about an event
    assert "日付がわかりませんでした" not in texts(phone.say("毎日 公園がうるさいです"))  # not about events


def test_english_readers_get_the_range_in_english(bot: Bot, line: FakeLine, ward: Any) -> None:
    user_id = new_user_id()
    line.profiles[user_id] = {"displayName": "Emma", "language": "en"}
    phone = Phone(bot, line, user_id)
    phone.follow()
    answer = texts(phone.say("December"))
    assert "No events in December." in answer and "12月" not in answer
    assert "No events on Wed 30 September" not in texts(phone.say("yesterday"))
    assert "Wed 30 September has already passed" in texts(phone.say("yesterday"))
    assert "could not read the date" in texts(phone.say("第3週のイベント"))
    assert "Minato Picnic" in texts(phone.say("this weekend")) or "みなとピクニック" in texts(phone.say("this weekend"))


def test_a_question_is_kept_for_its_day_only_and_cannot_be_changed_by_whoever_gets_it() -> None:
    today, tomorrow = dt.date(2026, 12, 3), dt.date(2026, 12, 4)
    first = search.parse("明日のイベント", today)
    assert search.parse("明日のイベント", today) is first  # the same words the same day: read once
    assert first.dates is not None and first.dates.start == tomorrow
    next_day = search.parse("明日のイベント", tomorrow)
    assert next_day.dates is not None and next_day.dates.start == dt.date(2026, 12, 5)
    with pytest.raises(AttributeError):  # (dataclasses.FrozenInstanceError)
        first.rest = "ほかの人の言葉"  # type: ignore[misc]
    long = "明日のイベント" + "　" * search.KEPT_TEXT  # a long text is read anew, not kept
    assert search.parse(long, today) is not search.parse(long, today)
    assert search.parse(long, today).dates == first.dates


@pytest.mark.parametrize(("words", "day"), [
    ("来週の水よう日", dt.date(2026, 12, 9)),  # half kanji, half kana, as children and phones write it
    ("来週の水ようび", dt.date(2026, 12, 9)),
    ("土ようび", dt.date(2026, 12, 5)),
    ("日よう日", dt.date(2026, 12, 6)),
])
def test_a_weekday_written_half_in_kana_narrows_the_week(words: str, day: dt.date) -> None:
    reading = dates.read(f"{words}のイベント", dt.date(2026, 12, 3))  # a Thursday
    assert reading.range is not None and (reading.range.start, reading.range.end) == (day, day)
