"""The rule engine, in the shape of cdk-nag: a rule answers for one resource of one stack.

A rule answers ``Verdict.COMPLIANT``, ``Verdict.NOT_APPLICABLE`` or a
``NonCompliant`` (``Verdict.NON_COMPLIANT`` with a message). ``check_stack``
runs rules over every resource of one stack's Terraform JSON and returns
``Finding``s; ``check_stacks`` does it for a whole app, stack by stack.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from constructs_lib.validation.terraform_json import Resource, StackJson


class Verdict(enum.Enum):
    """What a rule says about one resource (cdk-nag's ``NagRuleCompliance``)."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class NonCompliant:
    """A ``Verdict.NON_COMPLIANT`` answer with the reason (one line)."""

    message: str
    verdict: ClassVar[Verdict] = Verdict.NON_COMPLIANT


Result = Verdict | NonCompliant
"""What ``Rule.check`` returns: ``Verdict.COMPLIANT``, ``Verdict.NOT_APPLICABLE`` or ``NonCompliant``."""


def verdict_of(result: Result) -> Verdict:
    """The plain enum member of a rule's answer."""
    return result.verdict if isinstance(result, NonCompliant) else result


def non_compliant_if(problems: list[str]) -> Result:
    """``NonCompliant`` joining ``problems`` with "; ", or ``Verdict.COMPLIANT`` when there are none."""
    return NonCompliant("; ".join(problems)) if problems else Verdict.COMPLIANT


class Rule:
    """A validity rule (cdk-nag's ``NagRule``): ``id``, ``name``, the why in the docstring, and ``check``."""

    id: ClassVar[str]
    name: ClassVar[str]

    def check(self, resource: Resource, stack: StackJson) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Finding:
    """A non-compliant resource: which rule, which resource, why."""

    rule_id: str
    rule_name: str
    address: str
    message: str

    @property
    def line(self) -> str:
        """``<address>: [<rule id> <rule name>] <message>``, the form main.py prints after the stack name."""
        return f"{self.address}: [{self.rule_id} {self.rule_name}] {self.message}"

    def __str__(self) -> str:
        return self.line


def evaluate(rule: Rule, resource: Resource, stack: StackJson) -> Finding | None:
    """The finding of ``rule`` on ``resource``, or None. A rule that crashes is reported, never silent."""
    try:
        result = rule.check(resource, stack)
    except Exception as error:  # noqa: BLE001 - a broken rule must fail synth with a readable line
        message = " ".join(f"rule could not evaluate this resource: {error!r}".split())
        return Finding(rule.id, rule.name, resource.address, message)
    if isinstance(result, NonCompliant):
        return Finding(rule.id, rule.name, resource.address, " ".join(result.message.split()))  # one line
    return None


def check_stack(stack_json: Mapping[str, Any], rules: Sequence[Rule]) -> list[Finding]:
    """Every finding of ``rules`` over every resource of one stack's Terraform JSON."""
    stack = StackJson(stack_json)
    findings: list[Finding] = []
    for resource in stack.resources:
        for rule in rules:
            finding = evaluate(rule, resource, stack)
            if finding is not None:
                findings.append(finding)
    return findings


def check_stacks(stacks: Mapping[str, Mapping[str, Any]], rules: Sequence[Rule]) -> list[str]:
    """Every finding of every stack, as ``<stack>: <address>: [<rule id> <rule name>] <message>`` lines."""
    return [
        f"{name}: {finding.line}" for name, stack_json in stacks.items() for finding in check_stack(stack_json, rules)
    ]
