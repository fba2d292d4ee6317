"""A small hand-written set of customer messages, upset or not, to check the frustration score's
direction on customer language (chat, email, public posts; polite and rude).

Written for warmline, not taken from any dataset. It checks direction only: the model is not
trained or tuned on it, and it is too small to be an evaluation set.
"""

from __future__ import annotations

UPSET_MESSAGES: tuple[str, ...] = (
    "I've been waiting 3 weeks for my refund",
    "this is the third time I'm asking",
    "still not working",
    "nobody has got back to me",
    "why was I charged twice?",
    "great, thanks for nothing",
    "I have emailed you four times and still no reply.",
    "My order was supposed to arrive on Monday. It's Friday and nothing.",
    "I was transferred three times and every agent told me something different.",
    "This is absolutely ridiculous, I want to speak to a manager",
    "If this isn't sorted today I'm cancelling my contract and switching to another provider.",
    "Your app keeps crashing every time I try to pay. Fix it!!",
    "WHY IS MY ACCOUNT STILL LOCKED",
    "I'm really disappointed with how this has been handled.",
    "Hello, I'm writing again because the issue from last week has not been resolved. "
    "The internet drops every evening and the engineer never turned up.",
    "Been on hold for 45 minutes. Unacceptable.",
    "I cannot afford to be charged this fee, I have no money left until payday and I'm "
    "really worried",
    "you took £80 from my account without permission",
    "Dear team, I returned the item on 3 March and I still haven't received my refund. "
    "I'd appreciate an update as this is taking far too long.",
    "As I already explained, the parcel never arrived.",
    "Seriously?? Another delay?",
    "worst customer service I have ever experienced",
    "I'm sick of chasing you for this",
    "The technician didn't show up and nobody called to tell me. I took a day off work for this.",
    "Why do I have to explain my problem again to every person I speak to?",
    "This is a joke. 2 hours on the phone and nothing.",
    "I was promised a call back yesterday and never got one",
    "Can someone actually help me instead of sending the same useless link?",
    "my flight got cancelled and no one is answering the phone, I'm stuck at the airport",
    "I want a refund NOW",
    "Oh brilliant, the website is down again on payday",
    "I'm so frustrated, I just want my money back",
    "How is it possible that you lost my package twice?",
    "Not happy at all with the service",
    "I've tried everything you suggested and it still doesn't work",
    "the bill is wrong again, this happens every month",
    "Honestly I'm done with you guys, closing my account",
    "my husband passed away last month and I keep getting letters addressed to him, "
    "it's very upsetting",
    "You charged me for a subscription I cancelled in January.",
    "where is my refund?? it's been a month",
)

CALM_MESSAGES: tuple[str, ...] = (
    "how do I reset my password?",
    "what's my balance",
    "Hi, can I change my delivery address?",
    "What time do you open on Saturday?",
    "I'd like to upgrade my plan please",
    "Thanks, that worked perfectly!",
    "Can you tell me how to set up direct debit?",
    "Do you ship to Canada?",
    "Could you send me a copy of my last invoice?",
    "Hello, I want to book an appointment for next week",
    "Is there a student discount?",
    "How much data do I have left this month?",
    "Great, thank you so much for your help",
    "Can I pay by bank transfer?",
    "I moved house, how do I update my address?",
    "What's the difference between the basic and the premium plan?",
    "Perfect, that's all I needed. Have a nice day!",
    "Where can I find my order number?",
    "Good morning, I'd like to add my partner to my account.",
    "ok",
    "yes please",
    "My order number is 48213.",
    "How long does delivery usually take?",
    "Can I get a receipt for my purchase?",
    "Brilliant, the new card arrived today, thanks!",
    "Is it possible to pause my subscription for a month?",
    "what are your opening hours",
    "I'd like to know more about your travel insurance.",
    "Hi there, quick question: does the router support wifi 6?",
    "Thanks for the quick reply, much appreciated.",
    "I want to transfer money to a friend abroad, what are the fees?",
    "Could you remind me when my contract ends?",
    "Please send the documents to my email address.",
    "Can I return an item bought in store online?",
    "I'd like to order a replacement charger.",
    "Where do I enter a promo code?",
    "That's fine, I'll wait for the email.",
    "Can you help me activate my new SIM?",
    "Hello! Just checking whether you have the blue one in stock.",
    "Do I need to be home for the delivery?",
)

SANITY: tuple[tuple[str, bool], ...] = tuple(
    [(text, True) for text in UPSET_MESSAGES] + [(text, False) for text in CALM_MESSAGES]
)
