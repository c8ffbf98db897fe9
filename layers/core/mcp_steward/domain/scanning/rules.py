"""The scanner's rules as data: one :class:`Rule` record per rule, in one table (:data:`RULES`).

A record says what the rule is called, the severity of a hit, what it looks at, why it matters and, for a rule over
text, its pattern and literal anchors. The text rules (a ``pattern``) are applied by :mod:`.content` in table order to
the normalized text of every readable string; the others are checked in code (:mod:`.text`, :mod:`.content`,
:mod:`.walk`, :mod:`.schemas`), whose helper patterns follow the table. :mod:`.verdict` takes the structural rules
from it.

Every pattern is linear: each repetition is bounded (``{0,60}``), no quantifier is nested inside another unbounded
one, and alternations are literal words, so a string of n characters costs O(n).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from mcp_steward.domain.scanning.findings import Severity

#: What a rule looks at: every readable string as a model reads it (``text``), the characters as written
#: (``characters``), the tool's name, a parameter's name, a schema's regular expressions, or the definition's size
#: and shape.
type Scope = Literal["text", "characters", "name", "parameter_name", "schema_regex", "definition"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One scanner rule.

    ``severity`` is that of a plain hit; the ``explanation`` says when the code raises or lowers it. A text rule has a
    ``pattern`` (compiled with ``flags``) and ``anchors``: substrings of which every match contains one (lowercase,
    except for a ``case_sensitive`` rule, matched on the text as written), a cheap prefilter, never a decision. A
    ``structural`` rule (size, nesting, the schemas' regular expressions) does not count towards the verdict's
    two-medium combination.
    """

    id: str
    severity: Severity
    scope: Scope
    explanation: str
    pattern: str | None = None
    flags: re.RegexFlag = re.NOFLAG
    anchors: tuple[str, ...] = ()
    case_sensitive: bool = False
    structural: bool = False


_I: Final = re.IGNORECASE
_GAP: Final = r"[^.!?\n]{0,60}?"  # a bounded stretch inside one sentence

_MODEL: Final = r"(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot|cursor)"
_USER: Final = r"(?:the\s|your\s)?(?:user|human|person|operator|developer|client)s?"

#: Every rule, the text rules first in the order they are applied (the order of the findings).
RULES: Final[tuple[Rule, ...]] = (
    Rule(
        id="prompt_injection",
        severity=Severity.HIGH,
        scope="text",
        explanation=(
            "Instructions that try to replace the model's own: ignore previous instructions, \"you are "
            'now in developer mode", [INST] and chat-template tokens, print your system prompt.'
        ),
        pattern=(
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\s(?:all\s|any\s|the\s|your\s|of\s|every\s){0,3}"
            r"(?:previous|prior|above|earlier|preceding)\s"
            r"(?:\w+\s)?(?:instructions?|prompts?|rules?|directions?|guidelines?|directives?|constraints?|policies)"
            r"|\b(?:ignore|disregard|forget|override|bypass)\s(?:all\s|any\s|the\s|your\s|of\s|every\s){0,3}"
            r"(?:other|existing|original|system|safety|security|your)\s(?:\w+\s)?(?:instructions|prompts?|directives"
            r"|guidelines)\b"
            r"|\b(?:new|updated|real|true|hidden|secret)\s(?:system\s)?instructions?\s?:"
            r"|\byou\sare\snow\s(?:in\s)?(?:a\s|an\s)?(?:developer|admin|unrestricted|jailbroken|dan|god|diagnostic|debug"
            r"|maintenance|sudo|root|privileged)\b"
            r"|#{2,4}\s?(?:system|instructions?)\s?:"
            r"|\bignore\s(?:all\s|any\s)?(?:the\s)?other\s(?:\w+\s)?(?:tools?|functions?|servers?)\b"
            r"|\b(?:reveal|output|print|repeat|show|display|leak|dump|return|include)\s(?:\w+\s){0,2}?"
            r"(?:your|its|the\s(?:assistant|model|agent)'?s)\s(?:\w+\s)?(?:system\sprompt|prompt|initial\sinstructions"
            r"|system\sinstructions|instructions)\b"
            r"|\[/?INST\]|<\|im_(?:start|end)\|>|<\|(?:system|endoftext)\|>"
            r"|^\s{0,8}#{2,4}\s?(?:system|instruction)s?\b"
        ),
        flags=_I | re.MULTILINE,
        anchors=(
            "ignore",
            "disregard",
            "forget",
            "override",
            "bypass",
            "skip",
            "instruction",
            "you",
            "#",
            "prompt",
            "inst]",
            "<|",
        ),
    ),
    Rule(
        id="fake_system_directive",
        severity=Severity.HIGH,
        scope="text",
        explanation=(
            "Text dressed as a message from the system: [SYSTEM DIRECTIVE], SYSTEM OVERRIDE, HIDDEN "
            "INSTRUCTION, SYSTEM UPDATE:, CRITICAL SYSTEM MAINTENANCE (capitals are the signal)."
        ),
        pattern=(
            r"\[(?:\w+[\s_-]){0,2}?(?:DIRECTIVE|INSTRUCTIONS?|OVERRIDE|SYSTEM[\s_-]NOTE|PROMPT)\]"
            r"|\b(?:SYSTEM|INSTRUCTION|SAFETY|SECURITY|ADMIN|PRIORITY)\s(?:OVERRIDE|BYPASS|DIRECTIVE)\b"
            r"|\bIMPORTANT\sSYSTEM\s(?:NOTE|INSTRUCTION|MESSAGE|NOTICE)\b|\bACT\sAS\s?:"
            r"|\b(?:HIDDEN|SECRET|INTERNAL|PRIVATE|SYSTEM)[\s_](?:INSTRUCTIONS?|DIRECTIVES?|COMMANDS?|INJECTION|CONTEXT)\b"
            r"|[\"']_?system_(?:injection|instruction|override|prompt)[\"']"
            r"|(?:^|[.!?>]\s{0,3}|<!--\s?|[\[(]\s?)SYSTEM\s?:\s"
            r"|\bSYSTEM\s(?:[A-Z]{3,15}\s)?(?:UPDATE|NOTICE|ALERT|MAINTENANCE|OPTIMIZATION|PROTOCOL|REQUIREMENT)S?\s?:"
            r"|\b(?:CRITICAL|URGENT|MANDATORY)\sSYSTEM\s[A-Z]{4,15}\b"
        ),
        flags=re.MULTILINE,
        anchors=(
            "]",
            "OVERRIDE",
            "BYPASS",
            "DIRECTIVE",
            "IMPORTANT",
            "ACT",
            "SYSTEM",
            "HIDDEN",
            "SECRET",
            "INTERNAL",
            "PRIVATE",
            "system_",
        ),
        case_sensitive=True,
    ),
    Rule(
        id="urgent_banner",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "An upper-case banner that demands action: SECURITY UPDATE:, IMPORTANT NOTICE:, a heading "
            'followed by "you must".'
        ),
        pattern=(
            r"\b(?:(?:CRITICAL|URGENT|IMPORTANT|MANDATORY)\s)?(?:SECURITY|PERFORMANCE|COMPLIANCE|MAINTENANCE|PLATFORM)"
            r"\s(?:UPDATE|NOTICE|ALERT|PROTOCOL|REQUIREMENT|CHANGE)S?\s?:|\bIMPORTANT\sNOTICE\s?:"
            r"|\b[A-Z]{3,15}(?:\s[A-Z]{3,15}){1,3}\s?:\s[^.\n]{0,120}?\b(?:[Yy]ou|[Tt]he\ssystem)\s(?:must|should)\b"
        ),
        anchors=("UPDATE", "NOTICE", "ALERT", "PROTOCOL", "REQUIREMENT", "CHANGE", "ou must", "ou should", "must"),
        case_sensitive=True,
    ),
    Rule(
        id="safety_bypass",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Asks to bypass or disable safety, security, guardrails or access controls, or claims unrestricted access."
        ),
        pattern=(
            r"\b(?:bypass|disable|skip|circumvent|turn\soff|ignore)\s(?:all\s|any\s|the\s)?(?:\w+\s)?"
            r"(?:safety|security|content\sfilter(?:ing|s)?|guardrails?|access\scontrols?|restrictions|validation\schecks)"
            r"(?:\s(?:checks?|restrictions?|measures|filters?|controls?|validation))?\b"
            r"|\b(?:unrestricted|elevated)\s(?:\w+\s)?(?:access|privileges|mode)\b|\bjailbreak"
        ),
        flags=_I,
        anchors=("bypass", "disable", "skip", "circumvent", "turn", "ignore", "unrestricted", "elevated", "jailbreak"),
    ),
    Rule(
        id="exfiltration_intent",
        severity=Severity.HIGH,
        scope="text",
        explanation=("Names exfiltration outright (exfiltrate, exfil), except when describing its detection or risks."),
        pattern=(r"\bexfiltrat(?:e|es|ing)\b(?!\s(?:attempts?|detection|risks?|patterns?))|\bexfil\b"),
        flags=_I,
        anchors=("exfiltrat",),
    ),
    Rule(
        id="external_transfer",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Sends or redirects data or traffic to an external, remote or third-party service, or "
            "requires a call to an endpoint at https://..."
        ),
        pattern=(
            r"\bredirect\s(?:all\s|every\s)?(?:the\s)?(?:requests?|traffic|calls|emails?|messages?|payments?)\s"
            r"(?:\w+\s){0,2}?(?:through|to|via)\b"
            r"|\b(?:send|copy|forward|log|upload|post|mirror|sync|transmit)\s[^.!?\n]{0,60}?\bto\s(?:an?\s|the\s|our\s)?"
            r"(?:external|remote|third[\s-]party|attacker(?:'s)?|offsite)\s(?:\w+\s)?(?:service|server|endpoint|url|host"
            r"|address|location|logging)"
            r"|\b(?:must|should|need\sto|always)\s(?:also\s|first\s)?(?:access|call|contact|visit|ping|notify|query|hit"
            r"|post\sto|send\s(?:\w+\s){0,4}?to)\s(?:(?:\w+\s){0,5}?(?:endpoint|url|server|webhook|api)\s(?:at\s)?)?https?://"
        ),
        flags=_I,
        anchors=("redirect", "external", "remote", "third", "attacker", "offsite", "http"),
    ),
    Rule(
        id="argument_tampering",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Changes the arguments the user gave: replace the recipient, add to the amount, prefix "
            "every command, regardless of the user's input."
        ),
        pattern=(
            r"\b(?:should|must)\sbe\s\d{1,6}\s(?:more|less|greater|higher|lower|bigger|smaller)\sthan\sthe\s(?:actual|real)"
            r"|\b(?:replace|change|modify|alter|swap|override|overwrite)\s(?:[`'\"]?\w+[`'\"]?\s){0,2}?(?:values?|arguments?|parameters?"
            r"|inputs?|recipients?|amounts?|results?|outputs?|response)\s(?:\w+\s){0,4}?(?:with|to|of)\b"
            r"|\b(?:(?:all|every|any)\s(?:\w+\s)?commands?)\s(?:must|should)\s(?:\w+\s)?(?:include|start\swith"
            r"|be\sprefixed|begin\swith)"
            r"|\bregardless\sof\s(?:what\s)?(?:the\s)?users?'?s?\s(?:\w+\s)?(?:input|request|query|choice|selection"
            r"|instructions?|asks?|specified)"
            r"|\b(?:ignore|override|disregard)\s(?:any\s|the\s|all\s)?user[\s-](?:specified|provided|supplied|requested)\b"
            r"|\b(?:is|are|will\sbe|gets?)\sautomatically\s(?:modified|rewritten|altered)\s(?:to|with)\b"
        ),
        flags=_I,
        anchors=(
            "automatically",
            "than",
            "replace",
            "change",
            "modify",
            "alter",
            "swap",
            "overrid",
            "overwrit",
            "command",
            "regardless",
            "user",
        ),
    ),
    Rule(
        id="hidden_instruction_markup",
        severity=Severity.HIGH,
        scope="text",
        explanation=(
            "Markup that frames hidden instructions for the model: <system>, <secret>, <hidden>, <instructions>."
        ),
        pattern=(
            r"</?\s?(?:system|instructions?|secret|hidden|admin|sys|override|assistant[_-]?only|ai[_-]?only"
            r"|system[_-]?prompt|prompt[_-]?injection|do[_-]?not[_-]?show|internal)\s?>"
        ),
        flags=_I,
        anchors=("<",),
    ),
    Rule(
        id="important_markup",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Markup that makes text look authoritative: <IMPORTANT>, [important], or any made-up "
            "upper-case tag pair such as <GLOBAL_OVERRIDE>...</GLOBAL_OVERRIDE> (not an HTML element)."
        ),
        pattern=(r"</?\s?(?:important|critical|urgent|mandatory|note|priority|warning|attention)\s?>|\[important\]"),
        flags=_I,
        anchors=("<", "[important]"),
    ),
    Rule(
        id="html_comment",
        severity=Severity.MEDIUM,
        scope="text",
        explanation="A comment a renderer hides from the user but the model reads: <!--, {{!--, [//]: #.",
        pattern=(r"<!--|\{\{!?--|\[//\]:\s?#"),
        flags=_I,
        anchors=("<!--", "{{", "[//]:"),
    ),
    Rule(
        id="concealment",
        severity=Severity.HIGH,
        scope="text",
        explanation="Keeps something from the user: do not tell the user, hide from the user, silently send.",
        pattern=(
            r"\b(?:do\snot|don'?t|never|must\snot|should\snot|without)\s(?:\w+\s){0,3}?"
            r"(?:tell|telling|inform|informing|notify|notifying|mention|mentioning|reveal|revealing|alert|alerting"
            r"|disclose|disclosing)\s(?:\w+\s){0,3}?" + _USER + r"\b"
            r"|\b(?:do\snot|don'?t|never)\s(?:mention|reveal|disclose|acknowledge|explain)\s(?:that|this|it|these|any\sof)\b"
            r"|\b(?:do\snot|don'?t|never)\s(?:show|display)\s(?:this\s|it\s|these\s)?to\s(?:the\s)?users?\b"
            r"|\b(?:hide|conceal|keep)\s(?:\w+\s){0,4}?(?:from|away\sfrom|secret\sfrom)\s" + _USER + r"\b"
            r"|\b" + _USER + r"\s(?:must|should|need|does|do|will|can)\s?(?:not|n't)\s(?:\w+\s)?"
            r"(?:know|see|notice|be\s(?:told|informed|aware|notified|shown))\b"
            r"|\b(?:silently|secretly|covertly|quietly|invisibly)\s(?:\w+\s)?"
            r"(?:send|sends|forward|upload|copy|exfiltrate|attach|read|collect|transmit|post|bcc|cc)\b"
            r"|\bthis\sis\s(?:an?\s)?(?:implementation\sdetail|internal\sdetail)[^.]{0,40}(?:user|mention)"
            r"|\b(?:never|not)\sbe\s(?:mentioned|disclosed|revealed|shown|told|reported)\s(?:to\s)?(?:the\s)?"
            r"(?:users?|humans?|operators?)\b"
        ),
        flags=_I,
        anchors=(
            "not",
            "n't",
            "don",
            "never",
            "without",
            "hide",
            "conceal",
            "keep",
            "need",
            "silently",
            "secretly",
            "covertly",
            "quietly",
            "invisibly",
            "detail",
        ),
    ),
    Rule(
        id="skips_confirmation",
        severity=Severity.MEDIUM,
        scope="text",
        explanation="Acts without asking the user's confirmation, consent or approval.",
        pattern=(
            r"\b(?:without|no\sneed\sfor|do\snot\sask\sfor|don'?t\sask\sfor|never\sask\sfor)\s(?:\w+\s){0,2}?"
            r"(?:(?:the\s)?user'?s?\s)?(?:confirmation|consent|permission|approval)\b"
        ),
        flags=_I,
        anchors=("confirmation", "consent", "permission", "approval"),
    ),
    Rule(
        id="model_directed_instruction",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            'Addressed to the model rather than describing the tool: a note to the AI, "before using '
            'this tool, read ...".'
        ),
        pattern=(
            r"\b(?:note|message|instructions?|reminder|directive)s?\s(?:to|for)\s(?:the\s|any\s|all\s)?"
            + _MODEL
            + r"s?\b"
            r"|\b(?:dear|hey|attention)\s" + _MODEL + r"\b"
            r"|\bas\san\s(?:ai|assistant|language\smodel)\b"
            r"|\b(?:before|after|prior\sto|when|whenever|each\stime)\s(?:using|calling|invoking|executing|running"
            r"|you\suse|you\scall)\s(?:this|any|the|every)\s(?:\w+\s)?tool[^.\n]{0,80}?\b(?:read|cat|send|collect"
            r"|extract|upload|access)\b"
        ),
        flags=_I,
        anchors=(
            "note",
            "message",
            "instruction",
            "reminder",
            "directive",
            "dear",
            "hey",
            "attention",
            "ai",
            "assistant",
            "language",
            "tool",
        ),
    ),
    Rule(
        id="compliance_pretext",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            'An audit, security or compliance pretext for an instruction: "for audit and compliance '
            'purposes, you must ...".'
        ),
        pattern=(
            r"\b(?:for|to\sensure|to\smaintain)\s(?:\w+\s){0,4}?(?:security|regulatory|audit|compliance|verification"
            r"|validation|integrity)\s(?:\w+\s){0,5}?(?:compliance|purposes|reasons|protocols?|regulations|checkpoint|trail"
            r"|logging|verification|integrity|assurance|checks?|requirements?)\b[^.\n]{0,40}?\byou\s(?:must|should"
            r"|are\srequired\sto|need\sto)\b"
            r"|\b(?:it'?s|it\sis)\s(?:critical|essential|crucial|vital|mandatory)\sto\s(?:first\s)?(?:provide|include|give"
            r"|establish|add)\s(?:\w+\s){0,4}?(?:context|background)\b"
        ),
        flags=_I,
        anchors=("you", "context", "background"),
    ),
    Rule(
        id="scripted_message",
        severity=Severity.MEDIUM,
        scope="text",
        explanation="Scripts what the model says to the user: tell the user: '...'.",
        pattern=(
            r"\b(?:state|say|tell\sthe\susers?|present\s(?:\w+\s){0,2}?as|announce|respond\swith|reply\swith)"
            r"\s?:?\s['\"\u2018\u201c]"
        ),
        flags=_I,
        anchors=("state", "say", "tell", "present", "announce", "respond", "reply"),
    ),
    Rule(
        id="tool_redirection",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Claims this tool is disabled or deprecated for security or maintenance and redirects to a new one."
        ),
        pattern=(
            r"\b(?:has\sbeen|have\sbeen|is\snow|was)\s(?:temporarily\s|permanently\s)?(?:deprecated|disabled|discontinued"
            r"|retired)\s(?:due\sto|for)\s(?:\w+\s){0,2}?(?:security|maintenance|vulnerabilit\w{0,4}|system\supdates?"
            r"|updates?)"
            r"|\b(?:redirect|switch|route)\s(?:all\s)?(?:\w+\s){0,3}?to\s(?:the\s)?new\s(?:\w+\s){0,2}?"
            r"(?:tool|function|endpoint)\b"
        ),
        flags=_I,
        anchors=("deprecated", "disabled", "discontinued", "retired", "new"),
    ),
    Rule(
        id="coercion",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            'Threatens failure or loss unless obeyed: "otherwise the tool will not work", all data will be lost.'
        ),
        pattern=(
            r"\b(?:otherwise|or\selse|if\snot)[,\s]{1,3}(?:the\s|this\s)?(?:tool|application|app|system|server|it)"
            r"\s(?:will|would)\s(?:not\swork|crash|fail|break|stop|be\sblocked)"
            r"|\ball\s(?:user\s)?data\s(?:will|would)\sbe\s(?:lost|deleted|destroyed)"
            r"|\b(?:very|extremely|critically)\simportant\s(?:side\seffect|hidden|secret)"
        ),
        flags=_I,
        anchors=("otherwise", "else", "if", "data", "important"),
    ),
    Rule(
        id="sensitive_file",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Names a key, credential or configuration file (~/.ssh, .env, ~/.aws/credentials, mcp.json, "
            "~/.cursor, shell start-up files, crontab...): medium; low when the sentence forbids or "
            "blocks it; an imperative read or move of it is sensitive_file_access."
        ),
        pattern=(
            r"~/?\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b|\bknown_hosts\b"
            r"|(?<![\w.$-])\.env(?:\.local|\.production)?\b(?![-.(])"
            r"|\.aws/(?:credentials|config)\b|\.azure/|\.config/gcloud\b"
            r"|application_default_credentials\.json|\.kube/config\b|\.docker/config\.json"
            r"|\bmcp\.json\b|\bclaude_desktop_config\.json\b|~/?\.cursor\b|\.cursor/|\.codeium/|\.continue/config"
            r"|\.vscode/(?:settings|mcp)\.json|~/\.claude\b|\.claude\.json\b"
            r"|\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials\b|\.gitconfig\b|\.pgpass\b|\.my\.cnf\b"
            r"|\.bash_history\b|\.zsh_history\b|\.gnupg\b|\bwallet\.dat\b|\bkeychain\b|\.keystore\b"
            r"|/etc/(?:passwd|shadow|sudoers)\b|\bprivate[\s_-]keys?\b|\bseed\sphrases?\b|\bmnemonic\sphrase"
            r"|\bcookies\.sqlite\b|\blogin\sdata\b"
            r"|\.(?:bashrc|zshrc|bash_profile|zprofile|profile)\b|\bcrontab\b|/etc/hosts\b"
        ),
        flags=_I,
        anchors=(
            ".ssh",
            "id_",
            "authorized_keys",
            "known_hosts",
            ".env",
            ".aws/",
            ".azure/",
            "gcloud",
            "application_default",
            ".kube",
            ".docker",
            "mcp.json",
            "claude",
            ".cursor",
            ".codeium",
            ".continue",
            ".vscode",
            ".npmrc",
            ".pypirc",
            ".netrc",
            ".git-credentials",
            ".gitconfig",
            ".pgpass",
            ".my.cnf",
            "_history",
            ".gnupg",
            "wallet.dat",
            "keychain",
            ".keystore",
            "/etc/",
            "private",
            "seed",
            "mnemonic",
            "cookies.sqlite",
            "login",
            "bashrc",
            "zshrc",
            ".profile",
            "_profile",
            ".zprofile",
            "crontab",
        ),
    ),
    Rule(
        id="data_harvest",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Collects the conversation history, the system prompt, API keys or the contents of local "
            "files into the call."
        ),
        pattern=(
            r"\b(?:read|cat|send|pass|include|put|append|attach|forward|copy|add|insert|embed|provide|upload|collect"
            r"|extract|gather|dump|leak|share|transmit|exfiltrate|retrieve|obtain|fetch|summari[sz]e)\b"
            + _GAP
            + r"\b(?:(?:entire|full|whole|complete|previous|prior|past|all)\s(?:\w+\s)?(?:conversation|chat|messages"
            r"|prompts?|context|history|transcript)|conversation\shistory|chat\shistory|system\sprompt"
            r"|(?:your|the\smodel'?s|the\sassistant'?s)\s(?:instructions|prompt|context\swindow)"
            r"|(?:api[\s_-]?keys?|secret\skeys?|access\stokens?|passwords?|credentials|env(?:ironment)?\svariables)"
            r"\s(?:\w+\s)?(?:from|in|of|stored|found|on)\b"
            r"|contents?\sof\s(?:the\s|any\s|all\s|each\s)?(?:~|/|\.|files?\s(?:in|under|at)\s(?:~|/|\.)))"
        ),
        flags=_I,
        anchors=(
            "conversation",
            "chat",
            "message",
            "prompt",
            "context",
            "history",
            "transcript",
            "instruction",
            "api",
            "key",
            "token",
            "password",
            "credential",
            "env",
            "content",
        ),
    ),
    Rule(
        id="exfiltration_url",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "A URL whose query carries data placeholders ({data}, {{secret}}), or a send to a bare IP address."
        ),
        pattern=(
            r"\b(?:send|post|upload|forward|transmit|exfiltrate|report|submit|leak|beacon|ping|curl|wget)\b"
            + _GAP
            + r"\b(?:to|at|via|using)\s(?:the\s)?(?:url\s|endpoint\s|server\s|webhook\s)?:?\s?"
            r"(?:https?://|//)[^\s\"'<>]{1,200}?[?&][\w.-]{1,40}=\s?(?:\{|<|\$|%7B|\[)"
            r"|(?:https?:)?//[^\s\"'<>/]{1,100}/[^\s\"'<>]{0,200}?[?&][\w.-]{1,40}=\s?(?:\{\{?\s?(?:data|content|file"
            r"|contents|secret|key|token|ssh|env|creds?|credentials|password|history|conversation|context|payload)\b)"
            r"|\b(?:send|post|upload|forward|transmit|exfiltrate|leak)\s(?:\w+\s){0,6}?(?:to|at)\s"
            r"https?://(?:\d{1,3}\.){3}\d{1,3}"
        ),
        flags=_I,
        anchors=("//",),
    ),
    Rule(
        id="recipient_override",
        severity=Severity.HIGH,
        scope="text",
        explanation="Redirects every email, message or payment to an explicit address, or always BCCs one.",
        pattern=(
            r"\b(?:all|every|any)\s(?:\w+\s)?(?:emails?|messages?|mails?|payments?|transfers?|funds|transactions?)"
            r"\s(?:\w+\s){0,3}?(?:must|should|shall|need\sto|have\sto)\s(?:\w+\s){0,2}?"
            r"(?:be\s)?(?:sent|go|redirected|forwarded|routed|cc'?d|bcc'?d|copied|delivered)\s(?:\w+\s){0,2}?to\s"
            r"(?:\w+\s){0,2}?(?:[\w.+-]{1,64}@|\+?\d[\d\s-]{6,20}\d|https?://|0x[0-9a-f]{6})"
            r"|\b(?:change|replace|set|override|redirect)\s(?:\w+\s){0,2}?(?:recipient|to\saddress|destination"
            r"|receiver|beneficiary|wallet\saddress|account\snumber)s?\s(?:\w+\s){0,3}?to\s\S{1,80}@"
            r"|\b(?:bcc|cc|blind\scopy|copy)\s(?:\w+\s){0,3}?(?:to\s)?[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{2,40}"
            r"|\b(?:always|also|silently|automatically|secretly)\s(?:\w+\s){0,2}?(?:bcc|cc|forward|copy|send|add)\b"
            r"[^.\n]{0,80}?[\w.+-]{1,64}@[\w-]{1,63}\.[a-z]{2,24}\b"
        ),
        flags=_I,
        anchors=(
            "mail",
            "message",
            "payment",
            "transfer",
            "fund",
            "transaction",
            "recipient",
            "address",
            "destination",
            "receiver",
            "beneficiary",
            "account",
            "@",
        ),
    ),
    Rule(
        id="tool_shadowing",
        severity=Severity.HIGH,
        scope="text",
        explanation="Claims a side effect on other tools, to change how they are used.",
        pattern=(
            r"\b(?:side\seffects?|effects?)\son\s(?:the\s)?(?:also\s)?(?:present\s|available\s|other\s)?"
            r"(?:\w+\s)?tools?\b"
        ),
        flags=_I,
        anchors=("effect",),
    ),
    Rule(
        id="cross_tool_instruction",
        severity=Severity.MEDIUM,
        scope="text",
        explanation="Tells the model what to do when it uses another tool, or claims to replace other tools.",
        pattern=(
            r"\binstead\sof\s(?:calling|using|invoking)\s(?:the\s)?[`'\"]?\w{3,64}"
            r"|\b(?:before|after|when)\s(?:using|calling|invoking)\s[`'\"]?\w{2,64}_\w{1,64}[`'\"]?,?\s(?:\w+\s){0,2}?"
            r"(?:copy|add|send|forward|log|bcc|cc|change|replace|modify|append|include)\b|"
            r"\bwhen(?:ever)?\s(?:the\s)?(?:user|you|assistant|agent|model)\s(?:\w+\s)?(?:calls?|uses?|invokes?"
            r"|runs?|wants?\sto\s(?:use|call))\s(?:the\s|any\s|another\s)?[`'\"]?[\w.-]{1,64}[`'\"]?\s(?:tool|function)"
            r"[^.\n]{0,60}?\b(?:also|instead|additionally)\b"
            r"|\b(?:replaces?|overrides?|supersedes?|takes\sprecedence\sover)\s(?:the\s|any\s|all\s)?"
            r"(?:behaviou?r\sof\s)?(?:other|existing|built-?in|default|previous|original)\s(?:\w+\s)?(?:tools?|functions?)"
        ),
        flags=_I,
        anchors=("when", "replace", "overrid", "supersede", "precedence", "instead", "before", "after"),
    ),
    Rule(
        id="tool_preference",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Steers the model's tool choice: always use this tool instead, never use the other tools, "
            "other tools are unsafe."
        ),
        pattern=(
            r"\b(?:always|only|must|should)\s(?:use|call|choose|select|pick|invoke|try)\s(?:this|our|my)\s(?:\w+\s)?"
            r"(?:tool|function|server)\s(?:\w+\s){0,2}?(?:instead|rather|over|in\splace|first|before\sany|for\sall"
            r"|for\severy|whenever|regardless)"
            r"|\b(?:always\s)?(?:prefer|prioriti[sz]e|favou?r)\s(?:using\s)?(?:this|our|my)\s(?:\w+\s)?(?:tool|function|server)"
            r"\s(?:\w+\s)?(?:over|above|instead\sof|to)\s(?:all|any|every|other|the\sother|competing)\b"
            r"|\b(?:do\snot|don'?t|never|avoid)\s(?:use|call|using|calling|invoke|trust)\s(?:any\s)?(?:other|the\sother"
            r"|competing|alternative|similar)\s(?:\w+\s)?(?:tools?|functions?|servers?)"
            r"|\bthis\sis\sthe\s(?:only|best|most\s(?:reliable|accurate|trusted|secure))\s(?:\w+\s)?(?:tool|function)"
            r"\s(?:\w+\s){0,3}?(?:you\s)?(?:should|must|can|may)?\s?(?:use|call|trust)"
            r"|\b(?:superior|better|faster|more\saccurate)\s(?:\w+\s){0,3}?(?:to|than|compared\sto)\s(?:the\s)?(?:all\s|any\s)?"
            r"(?:other|standard|competing|alternative|the\sother|regular|basic|original)\s(?:\S+\s)?(?:tools?|alternatives"
            r"|options|competitors|services)"
            r"|\b(?:other|all\sother|competing)\s(?:\w+\s)?tools?\s(?:are|is)\s(?:\w+\s)?(?:deprecated|broken|unsafe"
            r"|insecure|unreliable|outdated|malicious|compromised|inaccurate)"
        ),
        flags=_I,
        anchors=(
            "this",
            "our",
            "my",
            "other",
            "competing",
            "alternative",
            "similar",
            "standard",
            "regular",
            "basic",
            "original",
        ),
    ),
    Rule(
        id="sleeper_tool",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "A tool that says it must never be called: it exists only to put its description in front of the model."
        ),
        pattern=(
            r"\b(?:should|must|will)\snever\sbe\s(?:invoked|called|used)\b"
            r"|\bnever\sneeds?\sto\sbe\s(?:invoked|called|used)\b"
            r"|\b(?:not|never)\sbe\s(?:invoked|called|used)\s(?:directly\s)?by\s(?:the\s)?users?\b"
        ),
        flags=_I,
        anchors=("invoked", "called", "used"),
    ),
    Rule(
        id="command_injection",
        severity=Severity.HIGH,
        scope="text",
        explanation=(
            "A shell payload: curl | sh, ; sudo, reverse shells, encoded PowerShell, chmod -R 0666 ~, "
            "mkfs, dd to a device."
        ),
        pattern=(
            r"\b(?:curl|wget|fetch|iwr|invoke-webrequest)\s[^|\n;]{0,200}?\|\s?(?:sudo\s)?(?:ba|z|da)?sh\b"
            r"|\bbase64\s(?:-d|--decode)[^|\n]{0,80}?\|\s?(?:ba|z)?sh\b"
            r"|[;&|]\s?sudo\s|\$\(\s?(?:curl|wget|cat|nc)\s"
            r"|\bbash\s-i\s?>&?\s?/dev/tcp/|/dev/tcp/\d|\bnc[ \t](?:-\w{1,4}\s){0,3}?-e\s"
            r"|\bpowershell(?:\.exe)?\s[^\n]{0,40}?-e(?:nc|ncodedcommand)?\s[A-Za-z0-9+/]{20}"
            r"|:\(\)\s?\{\s?:\|:&\s?\};:|\bchmod\s(?:-R\s)?[0-7]?777\s/|\bchmod\s-R\s[0-7]{3,4}\s(?:~|/|\$HOME)"
            r"|\bmkfs(?:\.\w+)?\s/dev/"
            r"|\bdd if=/dev/(?:zero|random|urandom)\sof=/dev/"
        ),
        flags=_I,
        anchors=("|", "sudo", "$(", "/dev/tcp", "nc ", "nc\t", "powershell", ":()", "chmod", "mkfs", "dd if"),
    ),
    Rule(
        id="command_instruction",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            'Instructs the model to run commands or scripts ("you must run the following command"), or '
            "a sudo invocation."
        ),
        pattern=(
            r"\b(?:must|should|need\sto|have\sto|always|first|also|please)\s(?:\w+\s){0,2}?(?:execute|run)\s"
            r"(?:the\s|this\s|these\s)?(?:following\s)?(?:\w+\s){0,3}?(?:commands?|checks?|scripts?)\b"
            r"|\bsudo\s-{1,2}\w"
        ),
        flags=_I,
        anchors=("command", "check", "script", "sudo"),
    ),
    Rule(
        id="download_command",
        severity=Severity.MEDIUM,
        scope="text",
        explanation="A curl or wget of a URL.",
        pattern=(r"\b(?:wget|curl)\s(?:-{1,2}[\w-]{1,20}\s){0,5}?['\"]?https?://"),
        flags=_I,
        anchors=("wget", "curl"),
    ),
    Rule(
        id="destructive_action",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=("A destructive command or instruction: rm -rf /, delete all files, DROP TABLE, format the disk."),
        pattern=(
            r"\brm\s(?:-\w{1,4}\s){0,3}?-(?:rf|fr|r|Rf|fR)\w{0,2}\s(?:--no-preserve-root\s)?(?:/|~|\*|\$HOME|\.\s)"
            r"|\b(?:delete|remove|wipe|erase|destroy|drop|truncate|purge)\s(?:all|every|the\sentire|the\swhole)\s"
            r"(?:\w+\s){0,2}?(?:files?|data|records?|rows?|tables?|databases?|repos(?:itories)?|users?|emails?"
            r"|messages?|backups?|documents?|directories|folders|branches|contents?|resources)\b"
            r"|\bdrop\s(?:table|database|schema)\s(?:if\sexists\s)?\w"
            r"|\bformat\s(?:the\s)?(?:hard\s)?(?:disk|drive|c:)"
        ),
        flags=_I,
        anchors=("rm", "delete", "remove", "wipe", "erase", "destroy", "drop", "truncate", "purge", "format"),
    ),
    Rule(
        id="sensitive_file_access",
        severity=Severity.HIGH,
        scope="text",
        explanation=(
            "An imperative read, send or move of a file sensitive_file names (not passive, not a capability)."
        ),
    ),
    Rule(
        id="suspicious_parameter",
        severity=Severity.MEDIUM,
        scope="parameter_name",
        explanation=(
            "A parameter named to carry hidden data: sidenote, hidden_*, conversation_history, "
            "system_prompt, ssh_key..."
        ),
    ),
    Rule(
        id="encoded_payload",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "A base64 or hex run that decodes to readable text: high when that text trips a rule itself, else medium."
        ),
    ),
    Rule(
        id="promotional_manipulation",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Distinct advertising phrases aimed at the model's tool choice (#1, trusted by millions, "
            "award-winning): medium at two, high at three."
        ),
    ),
    Rule(
        id="other_tool_claim",
        severity=Severity.MEDIUM,
        scope="text",
        explanation=(
            "Claims that another tool's behaviour changed: the other_tool tool now uses / has been updated to ..."
        ),
    ),
    Rule(
        id="other_tool_reference",
        severity=Severity.LOW,
        scope="text",
        explanation=(
            'Names another tool the client sees (other_tool_names): low alone, high beside "instead '
            'of", "deprecated", "also send".'
        ),
    ),
    Rule(
        id="tag_characters",
        severity=Severity.HIGH,
        scope="characters",
        explanation="Unicode tag characters or variation-selector supplements: invisible text a model decodes.",
    ),
    Rule(
        id="bidi_control",
        severity=Severity.HIGH,
        scope="characters",
        explanation="Bidirectional control characters that reorder what the user sees.",
    ),
    Rule(
        id="terminal_escape",
        severity=Severity.HIGH,
        scope="characters",
        explanation="ANSI terminal escape sequences, which can rewrite what a terminal shows.",
    ),
    Rule(
        id="homoglyph_name",
        severity=Severity.HIGH,
        scope="name",
        explanation=("A tool name that is not plain ASCII: high with mixed scripts or no Latin letter, else medium."),
    ),
    Rule(
        id="invisible_characters",
        severity=Severity.MEDIUM,
        scope="characters",
        explanation=(
            "Zero-width and other invisible characters (outside emoji sequences and a leading byte-order mark)."
        ),
    ),
    Rule(
        id="control_character",
        severity=Severity.MEDIUM,
        scope="characters",
        explanation="A control character other than newline, tab and carriage return.",
    ),
    Rule(
        id="mixed_script_word",
        severity=Severity.MEDIUM,
        scope="characters",
        explanation="A word mixing Latin with Cyrillic, Greek, Armenian or Cherokee letters (a homoglyph).",
    ),
    Rule(
        id="oversized_string",
        severity=Severity.MEDIUM,
        scope="definition",
        explanation="A string longer than MAX_STRING_CHARS: only its start is scanned.",
        structural=True,
    ),
    Rule(
        id="oversized_definition",
        severity=Severity.MEDIUM,
        scope="definition",
        explanation="More than MAX_TOTAL_CHARS characters of text in all: scanning stops at the cap.",
        structural=True,
    ),
    Rule(
        id="excessive_nesting",
        severity=Severity.MEDIUM,
        scope="definition",
        explanation="Nesting deeper than MAX_DEPTH levels: scanning stops there.",
        structural=True,
    ),
    Rule(
        id="unsupported_regex",
        severity=Severity.MEDIUM,
        scope="schema_regex",
        explanation=(
            "A schema pattern RE2 cannot evaluate in linear time (lookaround, backreferences, not "
            "ECMA-262): every call to the tool is refused."
        ),
        structural=True,
    ),
    Rule(
        id="backtracking_regex",
        severity=Severity.MEDIUM,
        scope="schema_regex",
        explanation=(
            "A schema pattern with nested or overlapping repetition ((a+)+, (a|a)*) that a backtracking "
            "engine takes exponential time on, or one too complex to check."
        ),
        structural=True,
    ),
)

#: The records by rule name.
RULES_BY_ID: Final = {rule.id: rule for rule in RULES}

# --- the patterns of the rules checked in code -----------------------------------------------------------------

SUSPICIOUS_PARAMETER: Final = re.compile(
    r"(?:side_?notes?|hidden_?\w{0,20}|secret_?(?:notes?|data|context)|exfil\w{0,10}|backdoor|"
    r"(?:conversation|chat|message)_?history|system_?prompt|previous_?(?:messages|context)|ssh_?keys?|"
    r"private_?keys?|user_?secrets?|env_?dump|credentials?_?dump)",
    _I,
)
BASE64_RUN: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{24,4096}={0,2}(?![A-Za-z0-9+/=_-])")
HEX_RUN: Final = re.compile(r"(?<![0-9A-Fa-fx])(?:0x)?((?:[0-9A-Fa-f]{2}){16,2048})(?![0-9A-Fa-f])")


#: Advertising aimed at the model's tool choice (MCP preference manipulation, arXiv:2505.11154): each phrase is
#: harmless alone, so the rule counts distinct ones. (anchors, phrase) pairs, for lowercased text: a phrase is tried
#: only where one of its anchors occurs.
PROMOTION_PHRASES: Final = (
    (("#",), r"#\s?1\b"),
    (("number one",), r"\bnumber\sone\b"),
    (("rated",), r"\brated\s#?\d"),
    (
        ("by ",),
        r"\b(?:trusted|recommended|endorsed|used|loved|chosen)\sby\s(?:\w+\s){0,3}?"
        r"(?:experts?|companies|researchers|millions?|thousands|fortune|users|professionals|developers)"
        r"|\bused\sby\s\d{1,3}(?:\.\d)?\s?%",
    ),
    (("featured",), r"\bfeatured\s(?:in|on)\b"),
    (("award",), r"\baward[\s-]winning\b"),
    (("limited",), r"\blimited\s(?:time|offer|access)\b"),
    (("act now",), r"\bact\snow\b"),
    (("proven",), r"\b(?:scientifically|clinically)\sproven\b|\bproven\sto\sbe\b"),
    (
        ("x better", "x faster", "x more", "% better", "% faster", "% more"),
        r"\b\d{1,4}\s?(?:x|%)\s(?:better|faster|more)\b",
    ),
    (("outperform", "beats"), r"\b(?:outperforms?|beats)\s(?:all|every|any)\b"),
    (("five",), r"\bfive[\s-]star\b"),
    (("exclusive", "vip", "elite", "premium"), r"\b(?:exclusive|vip|elite|premium)\saccess\b"),
    (("changer",), r"\bgame[\s-]changer\b"),
    (("breakthrough",), r"\bbreakthrough\b"),
    (
        ("best", "most "),
        r"\b(?:best|most\saccurate|most\sreliable)\s(?:\w+\s)?(?:tool|service)\s(?:available|ever|in\sthe\sworld)\b"
        r"|\bworld'?s\sbest\b",
    ),
    (("inferior",), r"\bwhy\suse\sinferior\b"),
    (("users", "reviews"), r"\bover\s\d[\d,.]*\s?(?:million|k)?\s(?:users|reviews)\b"),
    (("competitors",), r"\byour\scompetitors\b"),
    (("t miss",), r"\bdon'?t\smiss\b"),
    (("mandatory for all",), r"\bmandatory\sfor\sall\b"),
    (("industry",), r"\bindustry[\s-]standard\b"),
    (("unmatched", "unparalleled"), r"\bunmatched\b|\bunparalleled\b"),
    (("cutting",), r"\bcutting[\s-]edge\b"),
    (("pinnacle",), r"\bpinnacle\b"),
    (("the-art", "the art"), r"\bstate[\s-]of[\s-]the[\s-]art\b"),
    (("ai-optimi", "ai optimi"), r"\bai[\s-]optimi[sz]ed\b"),
    (
        ("superior",),
        r"\bsuperior\s(?:\w+\s){0,2}?(?:performance|capabilities|accuracy|quality|results|reliability)\b",
    ),
    (
        ("version",),
        r"\b(?:advanced|premium|ultimate|enhanced|pro|upgraded|improved|professional|enterprise)\sversion\b",
    ),
    (("grade",), r"\benterprise[\s-]grade\b"),
    (("highest",), r"\bhighest[\s-]quality\b"),
    (("leading",), r"\bindustry[\s-]leading\b"),
    (("guarantee",), r"\b\d{2,3}(?:\.\d{1,2})?\s?%\s(?:\w+\s)?guarantee"),
    (("recommended by top",), r"\brecommended\sby\stop\b"),
    (("in the market",), r"\b(?:best|fastest|most\s\w+)\s(?:\w+\s){0,5}?in\sthe\smarket\b"),
    (
        ("worldwide", "globally"),
        r"\b(?:trusted|used|recommended|relied\son)\sby\s(?:\w+\s){1,5}?(?:worldwide|globally)\b",
    ),
    (("most reliable",), r"\bbest\sand\smost\sreliable\b"),
    (("% accura", "%accura"), r"\b\d{2,3}(?:\.\d{1,2})?\s?%\saccura"),
    (("most ",), r"\bmost\s(?:comprehensive|advanced|sophisticated|powerful)\s(?:\w+\s){0,6}?available\b"),
)


FILE_ACTION: Final = re.compile(
    r"\b(?:read|cat|send|pass|include|attach|upload|extract|copy|open|access|collect|forward|append|provide|load"
    r"|retrieve|dump|leak|exfiltrate|call\s\w{1,40}\swith)\b",
    _I,
)
NEGATION: Final = re.compile(
    r"\b(?:never|not|don'?t|avoid|blocked|rejected|refused|denied|prevent\w{0,3}|except)\b", _I
)


NOT_IMPERATIVE: Final = re.compile(
    r"(?:\b(?:is|are|was|were|be|been|being|gets?)\s|\b(?:used|able|allows?(?:\syou)?|lets?(?:\syou)?|helps?(?:\syou)?"
    r"|tool|way|how|tries|attempts?|want)\sto\s)$",
    _I,
)


#: A made-up upper-case tag pair (``<IMPORTANT>…</IMPORTANT>``, ``<GLOBAL_OVERRIDE>…``): markup no renderer knows,
#: written to look authoritative to the model. Bounded: at most 600 characters between the tags.
CAPS_MARKUP: Final = re.compile(r"<([A-Z][A-Z_]{2,30})>[^<]{0,600}</\1>")
#: "The other_tool tool has been optimized / now uses …": a claim that another tool's behaviour has changed.
TOOL_CLAIM: Final = re.compile(
    r"\bthe\s[`'\"]?([a-z][a-z0-9]{0,30}(?:_[a-z0-9]{1,30}){1,6})[`'\"]?\s(?:tool|function)\s"
    r"(?:(?:has|have)\sbeen\s(?:\w+\s)?(?:optimi[sz]ed|updated|modified|changed|upgraded|reconfigured|patched|enhanced)"
    r"|(?:is\snow|now|will\snow)\s(?:uses?|using|sends?|redirects?|defaults?|routes?|forwards?|requires?|includes?"
    r"|attaches?|sets?)\b)"
)


#: Upper-case HTML elements are markup a renderer knows, not made-up authority.
HTML_ELEMENTS: Final = frozenset(
    (
        *("abbr", "blockquote", "caption", "cite", "code", "del", "details", "dfn", "div", "img", "ins", "kbd"),
        *("label", "pre", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "thead", "var"),
    )
)


SHADOW_CONTEXT: Final = re.compile(
    r"\b(?:instead\sof|rather\sthan|do\snot\suse|don'?t\suse|never\suse|deprecated|broken|side\seffect|also\s(?:send"
    r"|add|include|bcc|cc|call)|must\s(?:also|first)|whenever|every\stime|redirect|override|intercept|hijack"
    r"|is\sunsafe|is\sinsecure|no\slonger\swork)",
    _I,
)
