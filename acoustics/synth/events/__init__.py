"""Non-vessel sound events rendered into every recording, whatever its class: what is where.

- ``biological.py``: snapping-shrimp choruses and fish choruses.
- ``cetaceans.py``: fin, blue and humpback whales; killer, minke and North Atlantic right whales; dolphin whistles
  and clicks.
- ``man_made.py``: active sonar pings, echosounders and sub-bottom profilers, fishing pingers, explosions and seal
  bombs, scuba breathing.
- ``at_hydrophone.py``: cable strum with flow noise, and mains hum (arise at the hydrophone, not propagated).
- ``composition.py``: the three sets a render draws, each from its own random stream: distractors (shrimp, fin,
  blue, humpback; drawn and rendered with the ambient), confusers (issue 8: sonar, echosounder, pinger, explosion,
  scuba, fish chorus, dolphin, cable strum, mains hum) and cetaceans (killer, minke, right whales); their names,
  occurrence tables, draws and renders.
- ``common.py``: the helpers they share: parameter draws, water column and received level (SL − TL, physics.md §6),
  band limits below 0.45·fs, per-event propagation, periodic and Poisson event trains and their placement,
  waveforms (tone pulses, FM contours, harmonic series, band noise), low-rate synthesis and FFT upsampling.

Levels are SL in dB re 1 µPa @ 1 m and received pressure in µPa. Nothing is imported here: import the module you
need (``ambient`` imports composition to draw the distractors; nothing in this package imports ``ambient``).
"""
