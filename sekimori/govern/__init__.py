"""Govern: the register of entrusted parties (委託先), their contracts and the access grants, stored with the
cases and recorded in their audit chain; import and export as YAML and CSV; when each grant was last used
and with MFA, from the store; access review campaigns; the register in the group model's shape and merged
into a loaded model; findings; least privilege; supervision records (selection assessments, audits); the
group posture and its history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sekimori.lazy import lazy_exports

if TYPE_CHECKING:
    from sekimori.govern.files import (
        Located,
        RegisterInput,
        RegisterRecords,
        csv_text,
        read_csv,
        read_register,
        read_yaml,
        write_register,
        yaml_text,
    )
    from sekimori.govern.finding_checks import UNUSED_DAYS, Finding, FindingKind, Severity, findings
    from sekimori.govern.least_privilege import (
        LeastPrivilege,
        LeastPrivilegeError,
        Removal,
        RemovalProposal,
        propose_removals,
        rank_removals,
        removal_candidates,
    )
    from sekimori.govern.modelshape import ModelSections, model_sections
    from sekimori.govern.posture import (
        OrgPosture,
        Posture,
        ScorePart,
        group_posture,
        posture_document,
        posture_history,
        posture_html,
        posture_measures,
        posture_pdf,
        save_snapshot,
    )
    from sekimori.govern.questionnaire import QUESTIONNAIRE, MeasureKind, QuestionItem
    from sekimori.govern.records import (
        AccessKind,
        ContractRecord,
        ContractStatus,
        GrantRecord,
        ObjectKind,
        PartyKind,
        PartyRecord,
        Problem,
        RegisterError,
        RiskTier,
        SubjectKind,
    )
    from sekimori.govern.register import ImportReport, Register, located
    from sekimori.govern.review_list import list_reviews
    from sekimori.govern.reviews import (
        Decision,
        ReviewError,
        ReviewItem,
        ReviewStatus,
        decide,
        review_status,
        start_review,
    )
    from sekimori.govern.revocations import (
        RevocationProposal,
        propose_revocations,
        record_revocation_outcomes,
    )
    from sekimori.govern.seam import MergedModel, merge_register, model_with_register
    from sekimori.govern.supervision import (
        AUDIT_INTERVAL_DAYS,
        Answer,
        Conclusion,
        PartySupervision,
        SupervisionError,
        answer,
        check_evidence,
        conclude,
        file_evidence,
        record_audit,
        remediate,
        start_assessment,
        supervision_records,
    )
    from sekimori.govern.usage import GrantUsage, grant_usage

__all__ = [
    "AUDIT_INTERVAL_DAYS",
    "QUESTIONNAIRE",
    "UNUSED_DAYS",
    "AccessKind",
    "Answer",
    "Conclusion",
    "ContractRecord",
    "ContractStatus",
    "Decision",
    "Finding",
    "FindingKind",
    "GrantRecord",
    "GrantUsage",
    "ImportReport",
    "LeastPrivilege",
    "LeastPrivilegeError",
    "Located",
    "MeasureKind",
    "MergedModel",
    "ModelSections",
    "ObjectKind",
    "OrgPosture",
    "PartyKind",
    "PartyRecord",
    "PartySupervision",
    "Posture",
    "Problem",
    "QuestionItem",
    "Register",
    "RegisterError",
    "RegisterInput",
    "RegisterRecords",
    "Removal",
    "RemovalProposal",
    "ReviewError",
    "ReviewItem",
    "ReviewStatus",
    "RevocationProposal",
    "RiskTier",
    "ScorePart",
    "Severity",
    "SubjectKind",
    "SupervisionError",
    "answer",
    "check_evidence",
    "conclude",
    "csv_text",
    "decide",
    "file_evidence",
    "findings",
    "grant_usage",
    "group_posture",
    "list_reviews",
    "located",
    "merge_register",
    "model_sections",
    "model_with_register",
    "posture_document",
    "posture_history",
    "posture_html",
    "posture_measures",
    "posture_pdf",
    "propose_removals",
    "propose_revocations",
    "rank_removals",
    "read_csv",
    "read_register",
    "read_yaml",
    "record_audit",
    "record_revocation_outcomes",
    "remediate",
    "removal_candidates",
    "review_status",
    "save_snapshot",
    "start_assessment",
    "start_review",
    "supervision_records",
    "write_register",
    "yaml_text",
]

_LAZY = {
    **dict.fromkeys(
        (
            "Located",
            "RegisterInput",
            "RegisterRecords",
            "csv_text",
            "read_csv",
            "read_register",
            "read_yaml",
            "write_register",
            "yaml_text",
        ),
        "sekimori.govern.files",
    ),
    "ModelSections": "sekimori.govern.modelshape",
    "model_sections": "sekimori.govern.modelshape",
    **dict.fromkeys(
        (
            "AccessKind",
            "ContractRecord",
            "ContractStatus",
            "GrantRecord",
            "ObjectKind",
            "PartyKind",
            "PartyRecord",
            "Problem",
            "RegisterError",
            "RiskTier",
            "SubjectKind",
        ),
        "sekimori.govern.records",
    ),
    "ImportReport": "sekimori.govern.register",
    "Register": "sekimori.govern.register",
    "located": "sekimori.govern.register",
    "list_reviews": "sekimori.govern.review_list",
    **dict.fromkeys(
        ("Decision", "ReviewError", "ReviewItem", "ReviewStatus", "decide", "review_status", "start_review"),
        "sekimori.govern.reviews",
    ),
    "RevocationProposal": "sekimori.govern.revocations",
    "propose_revocations": "sekimori.govern.revocations",
    "record_revocation_outcomes": "sekimori.govern.revocations",
    "GrantUsage": "sekimori.govern.usage",
    **dict.fromkeys(
        ("UNUSED_DAYS", "Finding", "FindingKind", "Severity", "findings"), "sekimori.govern.finding_checks"
    ),
    **dict.fromkeys(
        (
            "LeastPrivilege",
            "LeastPrivilegeError",
            "Removal",
            "RemovalProposal",
            "propose_removals",
            "rank_removals",
            "removal_candidates",
        ),
        "sekimori.govern.least_privilege",
    ),
    **dict.fromkeys(
        (
            "OrgPosture",
            "Posture",
            "ScorePart",
            "group_posture",
            "posture_document",
            "posture_history",
            "posture_html",
            "posture_measures",
            "posture_pdf",
            "save_snapshot",
        ),
        "sekimori.govern.posture",
    ),
    **dict.fromkeys(("QUESTIONNAIRE", "MeasureKind", "QuestionItem"), "sekimori.govern.questionnaire"),
    **dict.fromkeys(("MergedModel", "merge_register", "model_with_register"), "sekimori.govern.seam"),
    **dict.fromkeys(
        (
            "AUDIT_INTERVAL_DAYS",
            "Answer",
            "Conclusion",
            "PartySupervision",
            "SupervisionError",
            "answer",
            "check_evidence",
            "conclude",
            "file_evidence",
            "record_audit",
            "remediate",
            "start_assessment",
            "supervision_records",
        ),
        "sekimori.govern.supervision",
    ),
    "grant_usage": "sekimori.govern.usage",
}

__getattr__ = lazy_exports(__name__, _LAZY)
