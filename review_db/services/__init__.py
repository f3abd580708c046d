"""Service functions: keyword-only, take a session, never commit (the caller owns the transaction)."""

from review_db.services.cases import (
    add_chain,
    add_study,
    case_counts,
    create_case,
    current_chain,
    normalise_answer,
    ordered_steps,
    update_case,
)
from review_db.services.locks import claim_case, current_lock, release_case, renew_lock
from review_db.services.reviews import (
    add_step,
    effective_verdicts,
    record_verdict,
    remove_added_step,
    reviews_of_case,
    submit_review,
    verdict_history,
)
from review_db.services.users import (
    add_user,
    authenticate,
    create_login,
    list_users,
    require_role,
    resolve_login,
    revoke_login,
    user_by_name,
)
from review_db.services.worklist import WorklistFilter, next_case, status_counts, worklist

__all__ = [
    "WorklistFilter",
    "add_chain",
    "add_step",
    "add_study",
    "add_user",
    "authenticate",
    "case_counts",
    "claim_case",
    "create_case",
    "create_login",
    "current_chain",
    "current_lock",
    "effective_verdicts",
    "list_users",
    "next_case",
    "normalise_answer",
    "ordered_steps",
    "record_verdict",
    "release_case",
    "remove_added_step",
    "renew_lock",
    "require_role",
    "resolve_login",
    "reviews_of_case",
    "revoke_login",
    "status_counts",
    "submit_review",
    "update_case",
    "user_by_name",
    "verdict_history",
    "worklist",
]
