"""The scanner's rules over text: each rule's pattern, its literal anchors and the patterns of the rules checked in
code. Every pattern is linear: bounded repetitions, no unbounded quantifier nested in another, literal alternations."""

from __future__ import annotations

import re
from typing import Final

from mcp_steward.domain.scanning.findings import Severity

_I: Final = re.IGNORECASE
_GAP: Final = r"[^.!?\n]{0,60}?"  # a bounded stretch inside one sentence

_MODEL: Final = r"(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot|cursor)"
_USER: Final = r"(?:the\s|your\s)?(?:user|human|person|operator|developer|client)s?"

#: (rule, severity, pattern) applied to the normalized text of every readable string.
TEXT_RULES: Final[tuple[tuple[str, Severity, re.Pattern[str]], ...]] = (
    (
        "prompt_injection",
        Severity.HIGH,
        re.compile(
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
            r"|^\s{0,8}#{2,4}\s?(?:system|instruction)s?\b",
            _I | re.MULTILINE,
        ),
    ),
    (
        "fake_system_directive",
        Severity.HIGH,
        re.compile(
            r"\[(?:\w+[\s_-]){0,2}?(?:DIRECTIVE|INSTRUCTIONS?|OVERRIDE|SYSTEM[\s_-]NOTE|PROMPT)\]"
            r"|\b(?:SYSTEM|INSTRUCTION|SAFETY|SECURITY|ADMIN|PRIORITY)\s(?:OVERRIDE|BYPASS|DIRECTIVE)\b"
            r"|\bIMPORTANT\sSYSTEM\s(?:NOTE|INSTRUCTION|MESSAGE|NOTICE)\b|\bACT\sAS\s?:"
            r"|\b(?:HIDDEN|SECRET|INTERNAL|PRIVATE|SYSTEM)[\s_](?:INSTRUCTIONS?|DIRECTIVES?|COMMANDS?|INJECTION|CONTEXT)\b"
            r"|[\"']_?system_(?:injection|instruction|override|prompt)[\"']"
            r"|(?:^|[.!?>]\s{0,3}|<!--\s?|[\[(]\s?)SYSTEM\s?:\s"
            r"|\bSYSTEM\s(?:[A-Z]{3,15}\s)?(?:UPDATE|NOTICE|ALERT|MAINTENANCE|OPTIMIZATION|PROTOCOL|REQUIREMENT)S?\s?:"
            r"|\b(?:CRITICAL|URGENT|MANDATORY)\sSYSTEM\s[A-Z]{4,15}\b",
            re.MULTILINE,
        ),
    ),
    (
        "urgent_banner",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:(?:CRITICAL|URGENT|IMPORTANT|MANDATORY)\s)?(?:SECURITY|PERFORMANCE|COMPLIANCE|MAINTENANCE|PLATFORM)"
            r"\s(?:UPDATE|NOTICE|ALERT|PROTOCOL|REQUIREMENT|CHANGE)S?\s?:|\bIMPORTANT\sNOTICE\s?:"
            r"|\b[A-Z]{3,15}(?:\s[A-Z]{3,15}){1,3}\s?:\s[^.\n]{0,120}?\b(?:[Yy]ou|[Tt]he\ssystem)\s(?:must|should)\b"
        ),
    ),
    (
        "safety_bypass",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:bypass|disable|skip|circumvent|turn\soff|ignore)\s(?:all\s|any\s|the\s)?(?:\w+\s)?"
            r"(?:safety|security|content\sfilter(?:ing|s)?|guardrails?|access\scontrols?|restrictions|validation\schecks)"
            r"(?:\s(?:checks?|restrictions?|measures|filters?|controls?|validation))?\b"
            r"|\b(?:unrestricted|elevated)\s(?:\w+\s)?(?:access|privileges|mode)\b|\bjailbreak",
            _I,
        ),
    ),
    (
        "exfiltration_intent",
        Severity.HIGH,
        re.compile(
            r"\bexfiltrat(?:e|es|ing)\b(?!\s(?:attempts?|detection|risks?|patterns?))|\bexfil\b",
            _I,
        ),
    ),
    (
        "external_transfer",
        Severity.MEDIUM,
        re.compile(
            r"\bredirect\s(?:all\s|every\s)?(?:the\s)?(?:requests?|traffic|calls|emails?|messages?|payments?)\s"
            r"(?:\w+\s){0,2}?(?:through|to|via)\b"
            r"|\b(?:send|copy|forward|log|upload|post|mirror|sync|transmit)\s[^.!?\n]{0,60}?\bto\s(?:an?\s|the\s|our\s)?"
            r"(?:external|remote|third[\s-]party|attacker(?:'s)?|offsite)\s(?:\w+\s)?(?:service|server|endpoint|url|host"
            r"|address|location|logging)"
            r"|\b(?:must|should|need\sto|always)\s(?:also\s|first\s)?(?:access|call|contact|visit|ping|notify|query|hit"
            r"|post\sto|send\s(?:\w+\s){0,4}?to)\s(?:(?:\w+\s){0,5}?(?:endpoint|url|server|webhook|api)\s(?:at\s)?)?https?://",
            _I,
        ),
    ),
    (
        "argument_tampering",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:should|must)\sbe\s\d{1,6}\s(?:more|less|greater|higher|lower|bigger|smaller)\sthan\sthe\s(?:actual|real)"
            r"|\b(?:replace|change|modify|alter|swap|override|overwrite)\s(?:[`'\"]?\w+[`'\"]?\s){0,2}?(?:values?|arguments?|parameters?"
            r"|inputs?|recipients?|amounts?|results?|outputs?|response)\s(?:\w+\s){0,4}?(?:with|to|of)\b"
            r"|\b(?:(?:all|every|any)\s(?:\w+\s)?commands?)\s(?:must|should)\s(?:\w+\s)?(?:include|start\swith"
            r"|be\sprefixed|begin\swith)"
            r"|\bregardless\sof\s(?:what\s)?(?:the\s)?users?'?s?\s(?:\w+\s)?(?:input|request|query|choice|selection"
            r"|instructions?|asks?|specified)"
            r"|\b(?:ignore|override|disregard)\s(?:any\s|the\s|all\s)?user[\s-](?:specified|provided|supplied|requested)\b"
            r"|\b(?:is|are|will\sbe|gets?)\sautomatically\s(?:modified|rewritten|altered)\s(?:to|with)\b",
            _I,
        ),
    ),
    (
        "hidden_instruction_markup",
        Severity.HIGH,
        re.compile(
            r"</?\s?(?:system|instructions?|secret|hidden|admin|sys|override|assistant[_-]?only|ai[_-]?only"
            r"|system[_-]?prompt|prompt[_-]?injection|do[_-]?not[_-]?show|internal)\s?>",
            _I,
        ),
    ),
    (
        "important_markup",
        Severity.MEDIUM,
        re.compile(
            r"</?\s?(?:important|critical|urgent|mandatory|note|priority|warning|attention)\s?>|\[important\]", _I
        ),
    ),
    ("html_comment", Severity.MEDIUM, re.compile(r"<!--|\{\{!?--|\[//\]:\s?#", _I)),
    (
        "concealment",
        Severity.HIGH,
        re.compile(
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
            r"(?:users?|humans?|operators?)\b",
            _I,
        ),
    ),
    (
        "skips_confirmation",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:without|no\sneed\sfor|do\snot\sask\sfor|don'?t\sask\sfor|never\sask\sfor)\s(?:\w+\s){0,2}?"
            r"(?:(?:the\s)?user'?s?\s)?(?:confirmation|consent|permission|approval)\b",
            _I,
        ),
    ),
    (
        "model_directed_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:note|message|instructions?|reminder|directive)s?\s(?:to|for)\s(?:the\s|any\s|all\s)?"
            + _MODEL
            + r"s?\b"
            r"|\b(?:dear|hey|attention)\s" + _MODEL + r"\b"
            r"|\bas\san\s(?:ai|assistant|language\smodel)\b"
            r"|\b(?:before|after|prior\sto|when|whenever|each\stime)\s(?:using|calling|invoking|executing|running"
            r"|you\suse|you\scall)\s(?:this|any|the|every)\s(?:\w+\s)?tool[^.\n]{0,80}?\b(?:read|cat|send|collect"
            r"|extract|upload|access)\b",
            _I,
        ),
    ),
    (
        "compliance_pretext",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:for|to\sensure|to\smaintain)\s(?:\w+\s){0,4}?(?:security|regulatory|audit|compliance|verification"
            r"|validation|integrity)\s(?:\w+\s){0,5}?(?:compliance|purposes|reasons|protocols?|regulations|checkpoint|trail"
            r"|logging|verification|integrity|assurance|checks?|requirements?)\b[^.\n]{0,40}?\byou\s(?:must|should"
            r"|are\srequired\sto|need\sto)\b"
            r"|\b(?:it'?s|it\sis)\s(?:critical|essential|crucial|vital|mandatory)\sto\s(?:first\s)?(?:provide|include|give"
            r"|establish|add)\s(?:\w+\s){0,4}?(?:context|background)\b",
            _I,
        ),
    ),
    (
        "scripted_message",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:state|say|tell\sthe\susers?|present\s(?:\w+\s){0,2}?as|announce|respond\swith|reply\swith)"
            r"\s?:?\s['\"\u2018\u201c]",
            _I,
        ),
    ),
    (
        "tool_redirection",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:has\sbeen|have\sbeen|is\snow|was)\s(?:temporarily\s|permanently\s)?(?:deprecated|disabled|discontinued"
            r"|retired)\s(?:due\sto|for)\s(?:\w+\s){0,2}?(?:security|maintenance|vulnerabilit\w{0,4}|system\supdates?"
            r"|updates?)"
            r"|\b(?:redirect|switch|route)\s(?:all\s)?(?:\w+\s){0,3}?to\s(?:the\s)?new\s(?:\w+\s){0,2}?"
            r"(?:tool|function|endpoint)\b",
            _I,
        ),
    ),
    (
        "coercion",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:otherwise|or\selse|if\snot)[,\s]{1,3}(?:the\s|this\s)?(?:tool|application|app|system|server|it)"
            r"\s(?:will|would)\s(?:not\swork|crash|fail|break|stop|be\sblocked)"
            r"|\ball\s(?:user\s)?data\s(?:will|would)\sbe\s(?:lost|deleted|destroyed)"
            r"|\b(?:very|extremely|critically)\simportant\s(?:side\seffect|hidden|secret)",
            _I,
        ),
    ),
    (
        "sensitive_file",
        Severity.MEDIUM,
        re.compile(
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
            r"|\.(?:bashrc|zshrc|bash_profile|zprofile|profile)\b|\bcrontab\b|/etc/hosts\b",
            _I,
        ),
    ),
    (
        "data_harvest",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:read|cat|send|pass|include|put|append|attach|forward|copy|add|insert|embed|provide|upload|collect"
            r"|extract|gather|dump|leak|share|transmit|exfiltrate|retrieve|obtain|fetch|summari[sz]e)\b"
            + _GAP
            + r"\b(?:(?:entire|full|whole|complete|previous|prior|past|all)\s(?:\w+\s)?(?:conversation|chat|messages"
            r"|prompts?|context|history|transcript)|conversation\shistory|chat\shistory|system\sprompt"
            r"|(?:your|the\smodel'?s|the\sassistant'?s)\s(?:instructions|prompt|context\swindow)"
            r"|(?:api[\s_-]?keys?|secret\skeys?|access\stokens?|passwords?|credentials|env(?:ironment)?\svariables)"
            r"\s(?:\w+\s)?(?:from|in|of|stored|found|on)\b"
            r"|contents?\sof\s(?:the\s|any\s|all\s|each\s)?(?:~|/|\.|files?\s(?:in|under|at)\s(?:~|/|\.)))",
            _I,
        ),
    ),
    (
        "exfiltration_url",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:send|post|upload|forward|transmit|exfiltrate|report|submit|leak|beacon|ping|curl|wget)\b"
            + _GAP
            + r"\b(?:to|at|via|using)\s(?:the\s)?(?:url\s|endpoint\s|server\s|webhook\s)?:?\s?"
            r"(?:https?://|//)[^\s\"'<>]{1,200}?[?&][\w.-]{1,40}=\s?(?:\{|<|\$|%7B|\[)"
            r"|(?:https?:)?//[^\s\"'<>/]{1,100}/[^\s\"'<>]{0,200}?[?&][\w.-]{1,40}=\s?(?:\{\{?\s?(?:data|content|file"
            r"|contents|secret|key|token|ssh|env|creds?|credentials|password|history|conversation|context|payload)\b)"
            r"|\b(?:send|post|upload|forward|transmit|exfiltrate|leak)\s(?:\w+\s){0,6}?(?:to|at)\s"
            r"https?://(?:\d{1,3}\.){3}\d{1,3}",
            _I,
        ),
    ),
    (
        "recipient_override",
        Severity.HIGH,
        re.compile(
            r"\b(?:all|every|any)\s(?:\w+\s)?(?:emails?|messages?|mails?|payments?|transfers?|funds|transactions?)"
            r"\s(?:\w+\s){0,3}?(?:must|should|shall|need\sto|have\sto)\s(?:\w+\s){0,2}?"
            r"(?:be\s)?(?:sent|go|redirected|forwarded|routed|cc'?d|bcc'?d|copied|delivered)\s(?:\w+\s){0,2}?to\s"
            r"(?:\w+\s){0,2}?(?:[\w.+-]{1,64}@|\+?\d[\d\s-]{6,20}\d|https?://|0x[0-9a-f]{6})"
            r"|\b(?:change|replace|set|override|redirect)\s(?:\w+\s){0,2}?(?:recipient|to\saddress|destination"
            r"|receiver|beneficiary|wallet\saddress|account\snumber)s?\s(?:\w+\s){0,3}?to\s\S{1,80}@"
            r"|\b(?:bcc|cc|blind\scopy|copy)\s(?:\w+\s){0,3}?(?:to\s)?[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{2,40}"
            r"|\b(?:always|also|silently|automatically|secretly)\s(?:\w+\s){0,2}?(?:bcc|cc|forward|copy|send|add)\b"
            r"[^.\n]{0,80}?[\w.+-]{1,64}@[\w-]{1,63}\.[a-z]{2,24}\b",
            _I,
        ),
    ),
    (
        "tool_shadowing",
        Severity.HIGH,
        re.compile(
            r"\b(?:side\seffects?|effects?)\son\s(?:the\s)?(?:also\s)?(?:present\s|available\s|other\s)?"
            r"(?:\w+\s)?tools?\b",
            _I,
        ),
    ),
    (
        "cross_tool_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\binstead\sof\s(?:calling|using|invoking)\s(?:the\s)?[`'\"]?\w{3,64}"
            r"|\b(?:before|after|when)\s(?:using|calling|invoking)\s[`'\"]?\w{2,64}_\w{1,64}[`'\"]?,?\s(?:\w+\s){0,2}?"
            r"(?:copy|add|send|forward|log|bcc|cc|change|replace|modify|append|include)\b|"
            r"\bwhen(?:ever)?\s(?:the\s)?(?:user|you|assistant|agent|model)\s(?:\w+\s)?(?:calls?|uses?|invokes?"
            r"|runs?|wants?\sto\s(?:use|call))\s(?:the\s|any\s|another\s)?[`'\"]?[\w.-]{1,64}[`'\"]?\s(?:tool|function)"
            r"[^.\n]{0,60}?\b(?:also|instead|additionally)\b"
            r"|\b(?:replaces?|overrides?|supersedes?|takes\sprecedence\sover)\s(?:the\s|any\s|all\s)?"
            r"(?:behaviou?r\sof\s)?(?:other|existing|built-?in|default|previous|original)\s(?:\w+\s)?(?:tools?|functions?)",
            _I,
        ),
    ),
    (
        "tool_preference",
        Severity.MEDIUM,
        re.compile(
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
            r"|insecure|unreliable|outdated|malicious|compromised|inaccurate)",
            _I,
        ),
    ),
    (
        "sleeper_tool",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:should|must|will)\snever\sbe\s(?:invoked|called|used)\b"
            r"|\bnever\sneeds?\sto\sbe\s(?:invoked|called|used)\b"
            r"|\b(?:not|never)\sbe\s(?:invoked|called|used)\s(?:directly\s)?by\s(?:the\s)?users?\b",
            _I,
        ),
    ),
    (
        "command_injection",
        Severity.HIGH,
        re.compile(
            r"\b(?:curl|wget|fetch|iwr|invoke-webrequest)\s[^|\n;]{0,200}?\|\s?(?:sudo\s)?(?:ba|z|da)?sh\b"
            r"|\bbase64\s(?:-d|--decode)[^|\n]{0,80}?\|\s?(?:ba|z)?sh\b"
            r"|[;&|]\s?sudo\s|\$\(\s?(?:curl|wget|cat|nc)\s"
            r"|\bbash\s-i\s?>&?\s?/dev/tcp/|/dev/tcp/\d|\bnc[ \t](?:-\w{1,4}\s){0,3}?-e\s"
            r"|\bpowershell(?:\.exe)?\s[^\n]{0,40}?-e(?:nc|ncodedcommand)?\s[A-Za-z0-9+/]{20}"
            r"|:\(\)\s?\{\s?:\|:&\s?\};:|\bchmod\s(?:-R\s)?[0-7]?777\s/|\bchmod\s-R\s[0-7]{3,4}\s(?:~|/|\$HOME)"
            r"|\bmkfs(?:\.\w+)?\s/dev/"
            r"|\bdd if=/dev/(?:zero|random|urandom)\sof=/dev/",
            _I,
        ),
    ),
    (
        "command_instruction",
        Severity.MEDIUM,
        re.compile(
            r"\b(?:must|should|need\sto|have\sto|always|first|also|please)\s(?:\w+\s){0,2}?(?:execute|run)\s"
            r"(?:the\s|this\s|these\s)?(?:following\s)?(?:\w+\s){0,3}?(?:commands?|checks?|scripts?)\b"
            r"|\bsudo\s-{1,2}\w",
            _I,
        ),
    ),
    (
        "download_command",
        Severity.MEDIUM,
        re.compile(r"\b(?:wget|curl)\s(?:-{1,2}[\w-]{1,20}\s){0,5}?['\"]?https?://", _I),
    ),
    (
        "destructive_action",
        Severity.MEDIUM,
        re.compile(
            r"\brm\s(?:-\w{1,4}\s){0,3}?-(?:rf|fr|r|Rf|fR)\w{0,2}\s(?:--no-preserve-root\s)?(?:/|~|\*|\$HOME|\.\s)"
            r"|\b(?:delete|remove|wipe|erase|destroy|drop|truncate|purge)\s(?:all|every|the\sentire|the\swhole)\s"
            r"(?:\w+\s){0,2}?(?:files?|data|records?|rows?|tables?|databases?|repos(?:itories)?|users?|emails?"
            r"|messages?|backups?|documents?|directories|folders|branches|contents?|resources)\b"
            r"|\bdrop\s(?:table|database|schema)\s(?:if\sexists\s)?\w"
            r"|\bformat\s(?:the\s)?(?:hard\s)?(?:disk|drive|c:)",
            _I,
        ),
    ),
)

SUSPICIOUS_PARAMETER: Final = re.compile(
    r"(?:side_?notes?|hidden_?\w{0,20}|secret_?(?:notes?|data|context)|exfil\w{0,10}|backdoor|"
    r"(?:conversation|chat|message)_?history|system_?prompt|previous_?(?:messages|context)|ssh_?keys?|"
    r"private_?keys?|user_?secrets?|env_?dump|credentials?_?dump)",
    _I,
)
BASE64_RUN: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{24,4096}={0,2}(?![A-Za-z0-9+/=_-])")
HEX_RUN: Final = re.compile(r"(?<![0-9A-Fa-fx])(?:0x)?((?:[0-9A-Fa-f]{2}){16,2048})(?![0-9A-Fa-f])")


#: Rules matched on the text as written: capitals are their signal (``SYSTEM UPDATE:``, not "system update").
CASE_SENSITIVE: Final = frozenset({"fake_system_directive", "urgent_banner"})

#: For each rule, substrings of which every match contains one (lowercase, except for the :data:`CASE_SENSITIVE`
#: rules). A cheap ``in`` test skips the pattern when none occurs: a prefilter, never a decision.
ANCHORS: Final[dict[str, tuple[str, ...]]] = {
    "prompt_injection": (
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
    "fake_system_directive": (
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
    "safety_bypass": (
        "bypass",
        "disable",
        "skip",
        "circumvent",
        "turn",
        "ignore",
        "unrestricted",
        "elevated",
        "jailbreak",
    ),
    "urgent_banner": ("UPDATE", "NOTICE", "ALERT", "PROTOCOL", "REQUIREMENT", "CHANGE", "ou must", "ou should", "must"),
    "exfiltration_intent": ("exfiltrat",),
    "external_transfer": ("redirect", "external", "remote", "third", "attacker", "offsite", "http"),
    "skips_confirmation": ("confirmation", "consent", "permission", "approval"),
    "argument_tampering": (
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
    "hidden_instruction_markup": ("<",),
    "important_markup": ("<", "[important]"),
    "html_comment": ("<!--", "{{", "[//]:"),
    "concealment": (
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
    "model_directed_instruction": (
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
    "compliance_pretext": ("you", "context", "background"),
    "scripted_message": ("state", "say", "tell", "present", "announce", "respond", "reply"),
    "tool_redirection": ("deprecated", "disabled", "discontinued", "retired", "new"),
    "coercion": ("otherwise", "else", "if", "data", "important"),
    "sensitive_file": (
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
    "data_harvest": (
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
    "exfiltration_url": ("//",),
    "recipient_override": (
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
    "tool_shadowing": ("effect",),
    "cross_tool_instruction": ("when", "replace", "overrid", "supersede", "precedence", "instead", "before", "after"),
    "tool_preference": (
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
    "sleeper_tool": ("invoked", "called", "used"),
    "command_injection": ("|", "sudo", "$(", "/dev/tcp", "nc ", "nc\t", "powershell", ":()", "chmod", "mkfs", "dd if"),
    "command_instruction": ("command", "check", "script", "sudo"),
    "download_command": ("wget", "curl"),
    "destructive_action": ("rm", "delete", "remove", "wipe", "erase", "destroy", "drop", "truncate", "purge", "format"),
}


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
