"""The reasoner: from an X-ray and a question to an ordered chain of steps and a final answer.

It knows nothing of the web UI or the database (never imports gradio or review_db). Entry
points: :mod:`reasoner.parsing` (the step parser), :mod:`reasoner.prompts`,
:mod:`reasoner.events` (typed streaming events) and :mod:`reasoner.backends`.
"""
