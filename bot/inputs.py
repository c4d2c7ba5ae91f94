"""Building blocks of the domains' input models (pydantic), and their errors in plain Japanese.

Every client (the API, the console, the demo data) hands a domain command one input model, so a rule is written
once. A field's ``title`` is its Japanese label: the console says which field is wrong in Japanese, the API names it
in ``loc``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError


def _within_years(moment: dt.datetime) -> dt.datetime:
    if not 2000 <= moment.year <= 2100:
        raise PydanticCustomError("year_range", "must be between the years 2000 and 2100",
                                  {"ja": "2000年から2100年までの日時にしてください"})
    return moment


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot store it
        raise PydanticCustomError("nul", "text must not contain NUL characters", {"ja": "使えない文字が含まれています"})
    return value


# A date and time with its time zone, in a range the ward can mean (and date arithmetic cannot overflow).
Moment = Annotated[AwareDatetime, AfterValidator(_within_years)]
# Text: stripped, no NUL; an optional one that is blank counts as not given.
Text = Annotated[str, BeforeValidator(_stripped), AfterValidator(_no_nul)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_no_nul)]


def field_error(kind: str, message: str, japanese: str) -> PydanticCustomError:
    """An error a field validator raises, in English (the API) and in Japanese (the console). A rule across fields
    is a validator of the later field (``info.data`` holds the earlier ones), so the error names that field."""
    return PydanticCustomError(kind, message, {"ja": japanese})


def partial(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """The model with every field optional and unset by default: a change names only what it changes. The merged
    result is validated with the full model, so every rule still holds."""
    fields: dict[str, Any] = {
        key: (info.annotation | None, Field(None, title=info.title, description=info.description))
        for key, info in model.model_fields.items()
    }
    made: type[BaseModel] = create_model(name, __doc__=doc, **fields)
    return made


class InputError(ValueError):
    """Input a domain command refuses: each error names its field (as loc), in English and in Japanese."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors

    @classmethod
    def from_validation(cls, exc: ValidationError, model: type[BaseModel]) -> InputError:
        errors = []
        for error in exc.errors(include_url=False):
            loc = list(error["loc"])
            ctx = error.get("ctx") or {}
            errors.append({"loc": loc, "msg": error["msg"], "type": error["type"],
                           "ja": _japanese(error["type"], ctx, _label(model, loc))})
        return cls(errors)

    def for_api(self) -> list[dict[str, Any]]:
        """FastAPI's 422 shape: loc starts with "body"."""
        return [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in self.errors]

    def by_field(self) -> dict[str, str]:
        """The first Japanese message of each field (top-level name), for a form."""
        out: dict[str, str] = {}
        for e in self.errors:
            key = str(e["loc"][0]) if e["loc"] else ""
            out.setdefault(key, e["ja"])
        return out

    def japanese(self) -> str:
        return "。".join(dict.fromkeys(e["ja"] for e in self.errors))

    def english(self) -> str:
        return "; ".join(dict.fromkeys(e["msg"] for e in self.errors))


class Refused(InputError):
    """A command's refusal in staff's words (Japanese), about one field ("" for the request as a whole); the API
    says it in English where one is given."""

    def __init__(self, message: str, field: str = "", english: str | None = None) -> None:
        super().__init__([{"loc": [field] if field else [], "msg": english or message, "type": "value_error",
                           "ja": message}])
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])


def validate(model: type[BaseModel], data: Any) -> Any:
    """model.model_validate(data), with its errors as an InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError.from_validation(exc, model) from None


def _label(model: type[BaseModel], loc: list[Any]) -> str:
    if not loc:
        return "入力"
    info = model.model_fields.get(str(loc[0]))
    label = (info.title if info is not None and info.title else str(loc[0]))
    if len(loc) > 1 and isinstance(loc[1], int):
        label += f"（{loc[1] + 1}つ目）"
    return label


def _japanese(kind: str, ctx: dict[str, Any], label: str) -> str:
    if "ja" in ctx:
        return f"{label}: {ctx['ja']}" if label != "入力" else str(ctx["ja"])
    if kind in ("missing", "string_too_short") or (kind == "too_short" and ctx.get("min_length") == 1):
        return f"{label}を入れてください"
    if kind == "string_too_long":
        return f"{label}は{ctx.get('max_length')}文字までです"
    if kind == "too_long":
        return f"{label}は{ctx.get('max_length')}個までです"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        word = "以上" if kind.startswith("greater") else "以下"
        return f"{label}は{bound}{word}にしてください"
    if kind.startswith("url"):
        return f"{label}は https:// で始まるURLにしてください"
    if kind.startswith(("datetime", "timezone", "date")):
        return f"{label}の日時が正しくありません（例: 2026-12-01 10:00）"
    if kind in ("literal_error", "enum"):
        return f"{label}を選んでください"
    if kind in ("int_parsing", "float_parsing", "int_type", "float_type", "int_from_float", "finite_number"):
        return f"{label}は数字で入れてください"
    return f"{label}が正しくありません"
