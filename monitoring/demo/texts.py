"""The demo's traffic texts: customer questions about invoices and the assistant's answers, generated from a
phrase bank so that they repeat the way real support traffic does.

Real traffic is a long tail: a few questions ("where is my invoice?") make up much of it, asked in a handful of
wordings with small variations (a greeting, a month, a payment method), and some texts recur verbatim (FAQ
buttons, retries). The generator draws intents with Zipf-like weights and wordings with a second skew, so a day
of traffic holds a few hundred distinct prompts among thousands of records. Everything is deterministic under
the generator's seed.
"""
import random
from dataclasses import dataclass

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
METHODS = ("bank transfer", "card", "direct debit", "PayPal")
GREETINGS = ("", "", "", "Hi, ", "Hello, ", "Good morning, ", "Quick question: ")
CLOSINGS = ("", "", "", " Thanks!", " Thank you.", " Please help.")


@dataclass(frozen=True)
class Intent:
    """One thing customers ask, in several wordings, with the assistant's answers and their typical quality."""

    key: str
    prompts: tuple[str, ...]
    responses: tuple[str, ...]
    score: float  # mean evaluator score of a good answer to this intent


# Everyday invoice questions: the baseline's topics.
INTENTS = (
    Intent("find-invoice",
           ("Where can I find my invoice for {month}?", "I can't find my latest invoice.",
            "How do I download my invoice as a PDF?", "Can you send me a copy of the {month} invoice?",
            "Where are my old invoices stored?"),
           ("All invoices are under Billing > Invoices in your account; each one can be downloaded as a PDF.",
            "I have sent a copy of the invoice to the e-mail address on your account. It is also under "
            "Billing > Invoices."), 0.86),
    Intent("charged-twice",
           ("Why was I charged twice this month?", "I see two payments for the same invoice.",
            "There is a double charge on my {method} statement.", "You took the money twice in {month}."),
           ("The second charge is a card pre-authorisation that is released within five working days; only "
            "one payment was collected.",
            "I can see one settled payment and one reversed attempt. The reversed amount returns to your "
            "account within a few days."), 0.78),
    Intent("due-date",
           ("When is my invoice due?", "What is the due date of the {month} invoice?",
            "How many days do I have to pay?", "Is the payment term 14 or 30 days?"),
           ("Invoices are due 30 days after the invoice date; the due date is printed at the top right of "
            "each invoice.",), 0.9),
    Intent("pay-method",
           ("Can I pay by {method}?", "How do I change my payment method to {method}?",
            "Which payment methods do you accept?", "I want to switch from card to direct debit."),
           ("You can pay by bank transfer, card, direct debit or PayPal. Change the method under Billing > "
            "Payment method; it applies from the next invoice.",), 0.88),
    Intent("reminder-fee",
           ("Why did I get a reminder fee?", "I paid on time but got a payment reminder.",
            "Can you remove the reminder fee from my invoice?", "What does the reminder fee cover?"),
           ("A reminder fee is added when payment arrives after the due date. If you paid on time, send us "
            "the payment receipt and we will remove the fee.",), 0.74),
    Intent("wrong-amount",
           ("The amount on my invoice is wrong.", "Why is my {month} invoice higher than usual?",
            "I was billed for a plan I don't have.", "The invoice total does not match my order."),
           ("The invoice includes usage above your plan for the period; the breakdown is on page 2. If an "
            "item is wrong, I can open a billing correction for you.",), 0.72),
    Intent("change-address",
           ("How do I change the billing address on my invoices?", "My company moved; update the invoice address.",
            "Can the invoice show a different company name?"),
           ("Update the billing address and company name under Account > Billing details; the change applies "
            "to invoices issued from now on.",), 0.87),
    Intent("vat",
           ("Does the invoice include VAT?", "Can you add our VAT number to the invoice?",
            "Why was VAT charged on my invoice?"),
           ("Prices on the invoice are shown with and without VAT. Add your VAT number under Account > "
            "Billing details so future invoices show it.",), 0.83),
    Intent("refund",
           ("How long does a refund take?", "When will I get my money back for the cancelled order?",
            "I was promised a refund in {month} and haven't received it."),
           ("Refunds are paid to the original payment method within ten working days after they are approved.",),
           0.76),
    Intent("instalments",
           ("Can I split the invoice into instalments?", "Is it possible to pay the {month} invoice in parts?",
            "Can I get more time to pay this invoice?"),
           ("Invoices above 200 EUR can be split into three monthly instalments; I can set that up for you or "
            "extend the due date by 14 days once.",), 0.8),
    Intent("credit-note",
           ("What is a credit note?", "I received a credit note; what do I do with it?",
            "How is the credit note deducted from my next invoice?"),
           ("A credit note reduces what you owe: it is deducted automatically from your next invoice, or paid "
            "out if you ask for it.",), 0.84),
    Intent("cancel-invoice",
           ("Can you cancel this invoice?", "I was invoiced after I cancelled my subscription.",
            "Please cancel the duplicate invoice from {month}."),
           ("I have opened a cancellation request for the invoice; you will receive a credit note within two "
            "working days.",), 0.75),
)

# The new topic of the demo's drift episode: the company starts sending invoices as e-invoices (EHF/Peppol), and
# customers ask about the new format. A legitimate change in what users ask, not a fault of the model.
E_INVOICING = (
    Intent("e-invoice",
           ("How do I receive my invoices through Peppol?", "What is an EHF invoice?",
            "Why did I get an electronic invoice instead of a PDF?", "Which Peppol ID should we register for "
            "e-invoices?", "Our accounting system rejected the e-invoice; what format is it?",
            "Can I still get PDF invoices after the switch to e-invoicing?"),
           ("From this week invoices to businesses are sent as EHF 3.0 e-invoices over the Peppol network to the "
            "organisation number on your account; a PDF copy stays available under Billing > Invoices.",), 0.84),
)

# What the assistant answers when its retrieval of account data fails: the demo's quality drop.
FALLBACK_RESPONSES = (
    "I'm sorry, I could not find that invoice. Please contact customer service.",
    "I don't have access to your billing information right now.",
)

SEGMENTS = ("web", "web", "web", "app", "app", "email")


def _skewed_index(rng: random.Random, size: int, exponent: float) -> int:
    """Return an index in [0, size) with Zipf-like weights 1 / (i + 1) ** exponent."""
    weights = [1.0 / (index + 1) ** exponent for index in range(size)]
    return rng.choices(range(size), weights=weights)[0]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(month=rng.choice(MONTHS), method=rng.choice(METHODS))


def prompt_for(intent: Intent, rng: random.Random) -> str:
    """Return one customer wording of the intent: a skewed choice of phrasing, slots filled, greeting and closing."""
    text = _fill(intent.prompts[_skewed_index(rng, len(intent.prompts), 1.2)], rng)
    return f"{rng.choice(GREETINGS)}{text}{rng.choice(CLOSINGS)}".strip()


@dataclass(frozen=True)
class Exchange:
    """One generated prompt/response pair with its evaluator score, user feedback and channel."""

    prompt: str
    response: str
    score: float
    feedback: int | None
    segment: str


def exchange(rng: random.Random, *, new_topic_share: float = 0.0, quality_factor: float = 1.0,
             fallback_share: float = 0.0) -> Exchange:
    """Return one exchange; the episode knobs move a share of prompts to the new topic or degrade the answers."""
    if rng.random() < new_topic_share:
        intent = E_INVOICING[0]
    else:
        intent = INTENTS[_skewed_index(rng, len(INTENTS), 1.1)]
    prompt = prompt_for(intent, rng)
    response = intent.responses[rng.randrange(len(intent.responses))]
    mean = intent.score * quality_factor
    if rng.random() < fallback_share:
        response = FALLBACK_RESPONSES[rng.randrange(len(FALLBACK_RESPONSES))]
        mean = 0.35
    # Beta-distributed evaluator scores with about 0.08 spread, as reward models give on short answers.
    concentration = 30.0
    score = rng.betavariate(mean * concentration, (1.0 - mean) * concentration)
    feedback = None
    if rng.random() < 0.15:
        # About one exchange in seven gets a thumbs up or down, more often down when the answer was poor.
        feedback = 1 if rng.random() < min(0.97, score * 1.05) else -1
    return Exchange(prompt=prompt, response=response, score=round(score, 4), feedback=feedback,
                    segment=rng.choice(SEGMENTS))
