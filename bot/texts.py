"""Every text a LINE user reads, by key, one catalogue per language. Plain words: many readers are older."""

from __future__ import annotations

from typing import Any

JA: dict[str, str] = {
    "greeting": (
        "{name}友だち追加ありがとうございます。\n"
        "{ward}の区政会議と、区のイベントのお知らせをお届けします。\n"
        "下のボタンから えらんでください。"
    ),
    "greeting.name": "{name}さん、",
    "welcome_back": "{name}おかえりなさい。また お知らせをお届けします。",
    "help": (
        "このアカウントでできること\n"
        "・イベント … 区のイベントをさがします（例:「今週のイベント」「区民まつり」）\n"
        "・通知設定 … 気になるイベントのお知らせを受け取れます\n"
        "・ご意見 … 区へのご意見を送れます\n"
        "区政会議の委員の方は、区役所からもらった「登録コード」を送ってください。"
    ),
    "help.member": (
        "委員のみなさんが できること\n"
        "・アンケート … 区政会議のアンケートに答えます（とちゅうから続けられます）\n"
        "・会議・資料 … 会議の日程と事前資料を見ます。お知らせのボタンで出席・欠席も伝えられます\n"
        "・事前意見 … 次の会議への意見を送ります\n"
        "・イベント … 区のイベントをさがします\n"
        "・通知設定 / リマインド一覧 … イベントのお知らせを選びます\n"
        "・ご意見 … 区へのご意見を送れます"
    ),
    "not_understood": "すみません、わかりませんでした。\n下のボタンから えらぶか、「ヘルプ」と送ってください。",
    "not_understood.way_out": "すみません、わかりませんでした。\n区役所に問い合わせるか、いま送った文を ご意見として区役所に送れます。下のボタンから えらんでください。",
    "smalltalk.hello": "こんにちは。{ward}の区政会議と イベントのボットです。\n下のボタンから えらんでください。",
    "smalltalk.thanks": "どういたしまして。\nまた いつでも どうぞ。",
    "qr.contact": "区役所に問い合わせる",
    "sticker_thanks": "スタンプありがとうございます。\n下のボタンから えらんでください。",
    "unsupported_message": "すみません、文字だけ読むことができます。\n下のボタンから えらんでください。",
    "stale_button": "このボタンは もう使えません。\n下のボタンから もう一度えらんでください。",
    "qr.events": "イベント",
    "qr.survey": "アンケート",
    "qr.opinion": "ご意見",
    "qr.help": "ヘルプ",
    "qr.settings": "通知設定",
    "meeting.menu": "会議・資料",
    "opinion.pre_meeting.menu": "事前意見",
    "menu.info": "区の情報",
    "info": "{ward}のホームページです。\n{site}",
    "info.contact": "お問い合わせ: {office} {phone}（{hours}）",
    "nothing_to_cancel": "いま 入力中のものは ありません。\n下のボタンから えらんでください。",
    "event.which": "どのイベントですか？ 下のボタンから えらぶか、イベントの名前を送ってください。",
    "event.calendar_link": "「{title}」をカレンダーに追加するときは、下のボタンを押してください。",
    # linking a council member's LINE account
    "link.ok": "{name}さん、登録できました。\n区政会議のアンケートや会議のお知らせをお届けします。",
    "link.ok.surveys": "{name}さん、登録できました。\nいま答えられるアンケートが {count}件あります。下のカードから答えられます。",
    "link.invalid": "登録コードがちがうようです。\n区役所からもらったコード（例: AB3D-EF7H）を、もう一度送ってください。",
    "link.expired": "この登録コードは期限が切れています。\n区役所に新しいコードをお問い合わせください。",
    "link.used": "この登録コードは、もう使われています。\n区役所にお問い合わせください。",
    "link.locked": "まちがいが続いたため、しばらく登録できません。\n10分ほどたってから、もう一度おためしください。",
    # council surveys (Japanese only: the council works in Japanese)
    "survey.not_member": "アンケートは、区政会議の委員の方が答えるものです。\n委員の方は、区役所からもらった登録コードを送ってください。",
    "survey.none_open": "いま答えられるアンケートはありません。",
    "survey.closed": "「{title}」は しめきりました。\nご協力ありがとうございました。",
    "survey.not_open_yet": "「{title}」は まだ始まっていません。\n{opens} から答えられます。",
    "survey.not_in_audience": "このアンケートは、対象の部会の委員の方が答えるものです。",
    "survey.already_sent": "「{title}」は、回答を送信済みです。\nご協力ありがとうございました。",
    "survey.stale": "前の質問のボタンです。\nいまの質問に答えてください。",
    "survey.progress": "（{n}/{total}）",
    "survey.choose_button": "下のボタンから えらんでください。",
    "survey.type_answer": "答えを文字で入力して、送ってください。",
    "survey.in_progress": "アンケートの途中です。\n下のボタンで答えるか、「中断」を押すと あとから続けられます。",
    "survey.paused": "中断しました。\n「アンケート」と送ると、続きから答えられます。",
    "survey.summary": "回答の確認です。\nよろしければ「送信」を押してください。直すときは「修正」を押してください。",
    "survey.thanks": "回答を送信しました。\nご協力ありがとうございました。",
    "survey.multi_selected": "えらんだもの: {selected}",
    "survey.multi_none": "いまは 何も えらんでいません。",
    "survey.multi_next": "ほかにもあれば えらんでください。えらび終わったら「決定」を押してください。",
    "survey.previous_answer": "前の答えは「{answer}」でした。",
    "survey.anonymous": "匿名のアンケートです。お名前は 回答といっしょに記録されません。",
    "survey.named": "記名のアンケートです。回答は お名前といっしょに記録されます。",
    "survey.multi_need_one": "1つ以上えらんでから「決定」を押してください。",
    "survey.edit_which": "直したい質問の番号を えらんでください。",
    "survey.invite": "質問は {count}問です。\nしめきり: {deadline}",
    "survey.reminder": "「{title}」のしめきりは {deadline} です。\nまだ回答が終わっていません。ご協力をお願いします。",
    "survey.choose_survey": "答えるアンケートを えらんでください。",
    "survey.too_long": "{limit}文字までで入力してください。",
    "survey.skipped": "（なし）",
    "survey.btn.start": "回答をはじめる",
    "survey.btn.resume": "続きから回答",
    "survey.btn.skip": "スキップ",
    "survey.btn.back": "戻る",
    "survey.btn.pause": "中断",
    "survey.btn.submit": "送信",
    "survey.btn.edit": "修正",
    "survey.btn.done": "決定",
    # events
    "event.status.cancelled": "【中止】",
    "event.status.rain_cancelled": "【雨天中止】",
    "event.status.changed": "【変更】",
    "event.btn.detail": "詳しく",
    "event.btn.map": "地図",
    "event.btn.calendar": "カレンダーに追加",
    "event.btn.remind": "リマインドする",
    "event.alt": "イベント: {titles}",
    "event.documents": "事前資料",
    "event.more": "ほかに {n}件あります。日にちや名前で しぼってください（例:「来週のイベント」）。",
    "event.none": "見つかりませんでした。\nこれからのイベントは、下のボタンから見られます。",
    "event.none_in_range": "{words}のイベントは見つかりませんでした。\nこれからのイベントは、下のボタンから見られます。",
    "event.bad_date": "{date}という日は ないようです。\n日付をたしかめてください（例: 10月7日、10/7）。",
    "event.remind_ok": "「{title}」のリマインドを登録しました。\n3日前と、当日の朝にお知らせします。",
    "event.remind_already": "「{title}」は、もうリマインドに登録されています。",
    "event.gone": "このイベントは見つかりませんでした。",
    "event.reminder": "【お知らせ】{title}\n{when}",
    "event.reminder.heading": "【お知らせ】",
    "event.notice.cancelled": "【中止】{title}（{when}）は中止になりました。",
    "event.notice.rain_cancelled": "【雨天中止】{title}（{when}）は雨のため中止になりました。",
    "event.notice.moved": "【日時変更】{title} の日時が変わりました。\n新しい日時: {when}",
    "language.set": "日本語でお答えします。英語にするときは「English」と送ってください。",
    "language.switch": "English",
    "event.calendar_name": "港区のイベント",
    "opinion.cat.0": "区役所・区政のこと",
    "opinion.cat.1": "まちのこと",
    "opinion.cat.2": "そのほか",
    "opinion.category": "ご意見ありがとうございます。\nどの分野のご意見ですか？",
    "opinion.category_kept": "ご意見の文は 受け取りました（まだ送っていません）。\nどの分野のご意見ですか？",
    "opinion.offer": "「{text}」\nこれを ご意見として 区役所に送りますか？",
    "opinion.btn.send": "送る",
    "opinion.btn.send_as": "ご意見として送る",
    "opinion.btn.parts": "{parts}回に分けて送る",
    "opinion.in_parts": "{length}文字ありましたので、{parts}回に分けて受け付けました。",
    "opinion.type": "ご意見を入力して、送ってください。",
    "opinion.name": "お名前を入力してください（なくてもかまいません）。",
    "opinion.no_name": "名前なしで送る",
    "opinion.cancel": "やめる",
    "opinion.cancelled": "ご意見の入力をやめました。",
    "opinion.thanks": "ご意見を受け付けました。ありがとうございました。\n区役所から お返事をすることがあります。",
    "opinion.too_long": "ご意見は {length}文字ありました。1回に送れるのは {limit}文字までです。\n入力した文はそのまま とってあります。{parts}回に分けて送るか、短くして もう一度送ってください。",
    "opinion.text_only": "文字で入力してください。やめるときは「やめる」を押してください。",
    "opinion.reply": "【区役所からのお返事】\nいただいたご意見:「{original}」\n\n{reply}",
    "opinion.pre_meeting.which": "どの会議への事前意見ですか？",
    "opinion.pre_meeting.none": "いま事前意見を受け付けている会議はありません。",
    "opinion.pre_meeting.type": "「{title}」への事前意見を入力して、送ってください。",
    "opinion.pre_meeting.members_only": "事前意見は、区政会議の委員の方が送るものです。\n区へのご意見は「ご意見」から送れます。",
    "opinion.pre_meeting.thanks": "事前意見を受け付けました。ありがとうございました。",
    "meeting.ask": "出欠を、下のボタンで教えてください。",
    "meeting.btn.attend": "出席",
    "meeting.btn.absent": "欠席",
    "meeting.btn.docs": "資料を確認しました",
    "meeting.ok.attend": "「{title}」出席で受け付けました。変更は会議の前まで できます。",
    "meeting.ok.absent": "「{title}」欠席で受け付けました。変更は会議の前まで できます。",
    "meeting.ok.docs": "資料の確認、ありがとうございます。",
    "meeting.your.attend": "出欠: 出席で受け付けています（会議の前まで 変えられます）",
    "meeting.your.absent": "出欠: 欠席で受け付けています（会議の前まで 変えられます）",
    "meeting.your.none": "出欠: まだ 伝えていません",
    "meeting.your.docs": "資料: 確認ずみ",
    "meeting.list": "これからの会議です。出欠は カードのボタンで伝えられます（会議の前まで 変えられます）。",
    "meeting.none": "これからの会議は いまありません。\n決まったら お知らせします。",
    "meeting.which": "どの会議ですか？ 下のボタンから えらんでください。",
    "meeting.members_only": "出欠の連絡は、区政会議の委員の方が使うものです。\n委員の方は、区役所からもらった登録コードを送ってください。",
    "meeting.started": "「{title}」は もう始まっています。出欠の変更は、区役所にご連絡ください。",
    "meeting.not_yours": "この会議の出欠は、対象の委員の方が答えるものです。",
    "settings.title": "通知設定です。\nお知らせを受け取りたい分野を えらんでください（✓がついているものが受け取る分野です）。",
    "settings.on": "「{category}」のイベントのお知らせを受け取ります。",
    "settings.off": "「{category}」のイベントのお知らせを止めました。",
    "settings.list": "リマインド一覧",
    "category.まつり": "まつり",
    "category.こども": "こども",
    "category.講座": "講座",
    "category.音楽": "音楽",
    "category.ものづくり": "ものづくり",
    "settings.none": "リマインドに登録しているイベントはありません。",
    "settings.subscribed": "リマインドに登録しているイベントです。止めるときは、下のボタンを押してください。",
    "settings.unsubscribe": "解除: {title}",
    "settings.unsubscribed": "リマインドを解除しました。",
    "group.joined": "こんにちは。{ward}の区政会議とイベントのお知らせをするボットです。\nグループでは、ボットあてのメンション（@）だけにお答えします。ご質問・ご意見・アンケートは、ボットを友だち追加して1対1のトークでどうぞ。",
    "group.mentioned": "{name}よびかけありがとうございます。グループでは くわしいお答えができません。ボットを友だち追加して、1対1のトークで「イベント」や「ご意見」と送ってください。",
}

EN: dict[str, str] = {
    "greeting": (
        "{name}thank you for adding us as a friend.\n"
        "We send news of {ward}'s events and of its ward council.\n"
        "Please choose from the buttons below."
    ),
    "greeting.name": "{name}, ",
    "welcome_back": "{name}welcome back. We will keep you posted.",
    "help": (
        "What you can do here\n"
        "- Events: find the ward's events (e.g. \"events this weekend\")\n"
        "- Notifications: hear about the events you care for\n"
        "- Opinion: send your opinion to the ward office\n"
        "Council members: please send the link code you received from the ward office."
    ),
    "help.member": (
        "What council members can do here\n"
        "- Survey: answer the council's survey (you can stop and go on later)\n"
        "- 会議・資料: meeting dates and documents; say whether you attend with the reminder's buttons\n"
        "- 事前意見: send an opinion on the next meeting\n"
        "- Events: find the ward's events\n"
        "- Notifications / My reminders: choose what you hear about\n"
        "- Opinion: send your opinion to the ward office"
    ),
    "not_understood": "Sorry, I did not understand.\nPlease choose a button below or send \"help\".",
    "not_understood.way_out": "Sorry, I did not understand.\nYou can contact the ward office, or send what you wrote to it as your opinion. Please choose below.",
    "smalltalk.hello": "Hello. This is the bot of {ward}'s ward council and events.\nPlease choose from the buttons below.",
    "smalltalk.thanks": "You are welcome.\nWrite any time.",
    "qr.contact": "Contact the office",
    "sticker_thanks": "Thank you for the sticker!\nPlease choose a button below.",
    "unsupported_message": "Sorry, I can only read text.\nPlease choose a button below.",
    "stale_button": "This button can no longer be used.\nPlease choose again below.",
    "qr.events": "Events",
    "qr.survey": "Survey",
    "qr.opinion": "Opinion",
    "qr.help": "Help",
    "qr.settings": "Notifications",
    "menu.info": "Ward info",
    "info": "The website of {ward}:\n{site}",
    "info.contact": "Contact: {office} {phone} ({hours})",
    "nothing_to_cancel": "There is nothing to cancel.\nPlease choose a button below.",
    "event.which": "Which event? Choose below, or send the event's name.",
    "event.calendar_link": "To add \"{title}\" to your calendar, tap the button below.",
    "event.status.cancelled": "[Cancelled]",
    "event.status.rain_cancelled": "[Cancelled: rain]",
    "event.status.changed": "[Changed]",
    "event.btn.detail": "Details",
    "event.btn.map": "Map",
    "event.btn.calendar": "Add to calendar",
    "event.btn.remind": "Remind me",
    "event.alt": "Events: {titles}",
    "event.documents": "Documents",
    "event.more": "{n} more. Try a date or a name (e.g. \"events next week\").",
    "event.none": "Nothing found.\nSee the coming events with the buttons below.",
    "event.none_in_range": "No events {words}.\nSee the coming events with the buttons below.",
    "event.bad_date": "There is no date {date}.\nPlease check it (e.g. 10/7).",
    "event.remind_ok": "We will remind you of \"{title}\" three days before and on the morning of the day.",
    "event.remind_already": "You already get a reminder for \"{title}\".",
    "event.gone": "This event was not found.",
    "event.reminder": "Reminder: {title}\n{when}",
    "event.reminder.heading": "Reminder",
    "event.notice.cancelled": "[Cancelled] {title} ({when}) has been cancelled.",
    "event.notice.rain_cancelled": "[Cancelled] {title} ({when}) has been cancelled because of rain.",
    "event.notice.moved": "[New date] {title} has moved.\nNew date: {when}",
    "survey.not_member": "Surveys are for members of the ward council.\nMembers: please send the link code you received from the ward office.",
    "opinion.pre_meeting.members_only": "Opinions on a meeting are sent by council members.\nTo send your opinion to the ward office, tap \"Opinion\".",
    "language.set": "I will answer in English. Send \"日本語\" to switch back.",
    "language.switch": "日本語",
    "event.calendar_name": "Minato ward events",
    "opinion.cat.0": "The ward office",
    "opinion.cat.1": "The town",
    "opinion.cat.2": "Something else",
    "opinion.category": "Thank you. What is your opinion about?",
    "opinion.category_kept": "We have your text (not sent yet). What is it about?",
    "opinion.offer": "\"{text}\"\nSend this to the ward office as your opinion?",
    "opinion.btn.send": "Send",
    "opinion.btn.send_as": "Send as opinion",
    "opinion.btn.parts": "Send in {parts} parts",
    "opinion.in_parts": "It had {length} characters, so we received it in {parts} parts.",
    "opinion.type": "Please type your opinion and send it.",
    "opinion.name": "Your name, if you like (you may leave it out).",
    "opinion.no_name": "Send without name",
    "opinion.cancel": "Cancel",
    "opinion.cancelled": "Cancelled.",
    "opinion.thanks": "We have received your opinion. Thank you.\nThe ward office may reply.",
    "opinion.too_long": "Your opinion has {length} characters; one message can carry {limit}.\nWe kept your text. Send it in {parts} parts, or send a shorter text.",
    "opinion.text_only": "Please type text, or tap Cancel.",
    "opinion.reply": "[Reply from the ward office]\nYour opinion: \"{original}\"\n\n{reply}",
    "settings.title": "Notification settings.\nChoose the kinds of events you want to hear about (✓ = on).",
    "settings.on": "You will hear about {category} events.",
    "settings.off": "You will no longer hear about {category} events.",
    "settings.list": "My reminders",
    "category.まつり": "Festivals",
    "category.こども": "Children",
    "category.講座": "Courses",
    "category.音楽": "Music",
    "category.ものづくり": "Making things",
    "settings.none": "You have no event reminders.",
    "settings.subscribed": "Your event reminders. Tap a button below to stop one.",
    "settings.unsubscribe": "Stop: {title}",
    "settings.unsubscribed": "The reminder is stopped.",
    "group.joined": "Hello. This bot brings news of the {ward} ward council and the ward's events.\nIn a group it answers only when mentioned (@). For questions, opinions and surveys, add the bot as a friend and write to it one to one.",
    "group.mentioned": "{name}thank you for calling. In a group the bot cannot answer in detail: add it as a friend and send \"events\" or \"opinion\" one to one.",
}

CATALOGUES: dict[str, dict[str, str]] = {"ja": JA, "en": EN}

# The keys whose text is the label of a button, a quick reply or a rich menu area the bot offers. Typed by hand, each
# does what tapping it does (tests/test_typed_labels.py walks this list in both languages).
BUTTON_KEYS: tuple[str, ...] = (
    "qr.events", "qr.survey", "qr.opinion", "qr.help", "qr.settings", "meeting.menu", "opinion.pre_meeting.menu",
    "menu.info", "language.switch",
    "survey.btn.start", "survey.btn.resume", "survey.btn.skip", "survey.btn.back", "survey.btn.pause",
    "survey.btn.submit", "survey.btn.edit", "survey.btn.done",
    "event.btn.detail", "event.btn.map", "event.btn.calendar", "event.btn.remind",
    "meeting.btn.attend", "meeting.btn.absent", "meeting.btn.docs",
    "opinion.cat.0", "opinion.cat.1", "opinion.cat.2", "opinion.no_name", "opinion.cancel",
    "settings.list", *(f"category.{c}" for c in ("まつり", "こども", "講座", "音楽", "ものづくり")),
)


def labels(*keys: str) -> tuple[str, ...]:
    """What these keys say in every language: a button's label typed by hand means what tapping it does."""
    return tuple(dict.fromkeys(catalogue[key] for key in keys for catalogue in (JA, EN) if key in catalogue))


def t(key: str, lang: str = "ja", /, **values: Any) -> str:
    """The text for key in lang (falling back to Japanese), with {placeholders} filled in."""
    catalogue = CATALOGUES.get(lang, JA)
    template = catalogue.get(key) or JA[key]
    return template.format(**values) if values else template


def language_of(profile_language: str | None) -> str:
    """LINE profile language to ours: Japanese for ja, English for everything else."""
    return "ja" if not profile_language or profile_language.lower().startswith("ja") else "en"
