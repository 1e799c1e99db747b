"""Vocabularies: a Chinese label for every value, parsing labels, synonyms and identifiers."""

from __future__ import annotations

import pytest

from matching.vocab import (
    _SYNONYMS,
    CooperationMode,
    ExpertStatus,
    FeedbackAction,
    IpStatus,
    IpType,
    Maturity,
    NeedStatus,
    NeedType,
    OrganizationKind,
    RejectReason,
    ResultStatus,
    Role,
    Vocabulary,
    label_of,
    labels_of,
    parse_value,
)

VOCABULARIES: list[type[Vocabulary]] = [
    OrganizationKind,
    NeedType,
    NeedStatus,
    ResultStatus,
    ExpertStatus,
    Maturity,
    CooperationMode,
    IpType,
    IpStatus,
    FeedbackAction,
    RejectReason,
    Role,
]
MEMBERS = [member for vocabulary in VOCABULARIES for member in vocabulary]


def _id(member: Vocabulary) -> str:
    return f"{type(member).__name__}.{member.name}"


def test_every_vocabulary_is_covered_here() -> None:
    assert set(Vocabulary.__subclasses__()) == set(VOCABULARIES)


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_labels_name_exactly_the_members(vocabulary: type[Vocabulary]) -> None:
    assert set(vocabulary.labels()) == {member.value for member in vocabulary}


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_labels_are_unique_and_non_empty(vocabulary: type[Vocabulary]) -> None:
    labels = labels_of(vocabulary)
    assert len(labels) == len(set(labels)) == len(vocabulary)
    assert all(label.strip() == label and label for label in labels)


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_values_are_lower_case_english_identifiers(vocabulary: type[Vocabulary]) -> None:
    for member in vocabulary:
        assert member.value == member.name.lower()
        assert member.value.replace("_", "").isascii()
        assert member == member.value


def test_labels_of_keeps_declaration_order() -> None:
    assert labels_of(NeedType) == ["技术研发", "成果引进转化", "人才团队引进", "平台共建"]
    assert labels_of(ExpertStatus) == ["在库", "停用"]


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (OrganizationKind.INSTITUTE, "科研院所"),
        (NeedStatus.UNDER_EVALUATION, "评审中"),
        (ResultStatus.TRANSFERRED, "已转化"),
        (Maturity.PILOT, "中试"),
        (CooperationMode.CONSULTING, "技术咨询与服务"),
        (IpType.UTILITY_MODEL, "实用新型专利"),
        (IpStatus.REGISTERED, "已登记"),
    ],
    ids=lambda value: str(value),
)
def test_label_of_gives_the_chinese_label(member: Vocabulary, label: str) -> None:
    assert label_of(member) == label


@pytest.mark.parametrize("member", MEMBERS, ids=_id)
def test_parse_value_reads_the_label(member: Vocabulary) -> None:
    parsed = parse_value(type(member), label_of(member))
    assert parsed is member


@pytest.mark.parametrize("member", MEMBERS, ids=_id)
def test_parse_value_reads_the_english_value_and_name_in_any_case(member: Vocabulary) -> None:
    vocabulary = type(member)
    assert parse_value(vocabulary, member.value) is member
    assert parse_value(vocabulary, member.value.upper()) is member
    assert parse_value(vocabulary, member.name) is member
    assert parse_value(vocabulary, f"  {member.value}  ") is member


@pytest.mark.parametrize(
    ("vocabulary", "text", "member"),
    [
        (OrganizationKind, "大学", OrganizationKind.UNIVERSITY),
        (OrganizationKind, "研究所", OrganizationKind.INSTITUTE),
        (OrganizationKind, "公司", OrganizationKind.ENTERPRISE),
        (CooperationMode, "技术咨询", CooperationMode.CONSULTING),
        (CooperationMode, "技术服务", CooperationMode.CONSULTING),
        (CooperationMode, "技术入股", CooperationMode.EQUITY),
        (CooperationMode, "转让", CooperationMode.TRANSFER),
        (IpType, "发明", IpType.INVENTION_PATENT),
        (IpType, "软著", IpType.SOFTWARE_COPYRIGHT),
        (Maturity, "中试阶段", Maturity.PILOT),
        (Maturity, "已产业化", Maturity.INDUSTRIAL),
        (NeedStatus, "待评审", NeedStatus.UNDER_EVALUATION),
        (NeedStatus, "已完成", NeedStatus.CLOSED),
        (IpStatus, "授权", IpStatus.GRANTED),
        (IpStatus, " 申请中 ", IpStatus.FILED),
    ],
)
def test_parse_value_reads_synonyms(
    vocabulary: type[Vocabulary], text: str, member: Vocabulary
) -> None:
    assert parse_value(vocabulary, text) is member


def test_every_synonym_names_a_member_and_no_other_members_label() -> None:
    for vocabulary, synonyms in _SYNONYMS.items():
        labels = vocabulary.labels()
        for text, value in synonyms.items():
            member = vocabulary(value)
            assert text not in labels.values() or labels[value] == text, (vocabulary, text)
            assert parse_value(vocabulary, text) is member


def test_a_label_of_one_vocabulary_is_not_read_by_another() -> None:
    with pytest.raises(ValueError):
        parse_value(NeedStatus, "已授权")


@pytest.mark.parametrize(
    ("vocabulary", "text", "message"),
    [
        (NeedType, "外包", "应为以下之一：技术研发、成果引进转化、人才团队引进、平台共建"),
        (ExpertStatus, "", "应为以下之一：在库、停用"),
        (Maturity, "TRL5", "应为以下之一：研发、小试、中试、产业化"),
    ],
)
def test_parse_value_error_lists_the_allowed_labels(
    vocabulary: type[Vocabulary], text: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_value(vocabulary, text)
    assert str(caught.value) == message


def test_the_base_vocabulary_has_no_labels() -> None:
    with pytest.raises(NotImplementedError):
        Vocabulary.labels()


@pytest.mark.parametrize(
    ("maturity", "levels"),
    [
        (Maturity.RESEARCH, (1, 3)),
        (Maturity.LAB, (4, 5)),
        (Maturity.PILOT, (6, 7)),
        (Maturity.INDUSTRIAL, (8, 9)),
    ],
)
def test_maturity_trl_range(maturity: Maturity, levels: tuple[int, int]) -> None:
    assert maturity.trl_range == levels


def test_maturity_stages_cover_readiness_levels_1_to_9_in_order_without_gaps() -> None:
    covered = [
        level for stage in Maturity for level in range(stage.trl_range[0], stage.trl_range[1] + 1)
    ]
    assert covered == list(range(1, 10))
