# Reference solution (expert-written, not LLM output): new BS -> per-UE SINR.
# Path loss: TR 38.901 Table 7.4.1-1 UMa NLOS = max(PL_LOS, PL'_NLOS), h_E = 1 m, d_2D >= 10 m.
# Antenna: TR 38.901 Table 7.3-1 sector element, 8 dBi, 65 deg, A_max = SLA_V = 30 dB.
import json
import tomllib

import numpy as np
import pandas as pd

net = tomllib.load(open("network.toml", "rb"))
policy = tomllib.load(open("policy.toml", "rb"))["policy"]
cells = pd.read_csv("cells.csv").sort_values("cell_id")
ues = pd.read_csv("ues.csv").sort_values("ue_id")
rsrp = pd.read_csv("rsrp_dbm.csv").sort_values("ue_id")
radio, ant = net["radio"], net["antenna"]
fc, h_bs, h_ut = radio["carrier_ghz"], radio["bs_height_m"], radio["ue_height_m"]
r_dbm = rsrp[[f"cell_{c}" for c in cells["cell_id"]]].to_numpy(float)   # [U, C] dBm
ue_xy = ues[["x_m", "y_m"]].to_numpy(float)


def pathloss_uma_nlos_db(d2d):
    d2d = np.maximum(d2d, 10.0)
    d3d = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / 3e8
    pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (28.0 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
           - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    pl_los = np.where(d2d <= d_bp, pl1, pl2)
    pl_nlos = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
    return np.maximum(pl_los, pl_nlos)


def sector_gain_dbi(dx, dy, azimuth_deg):
    d2d = np.hypot(dx, dy)
    phi = np.mod(np.degrees(np.arctan2(dy, dx)) - azimuth_deg + 180.0, 360.0) - 180.0
    theta = np.degrees(np.arctan2(d2d, h_ut - h_bs))          # zenith, > 90 deg below
    a_h = -np.minimum(12.0 * (phi / ant["hpbw_deg"]) ** 2, ant["front_to_back_db"])
    a_v = -np.minimum(12.0 * ((theta - 90.0 - ant["downtilt_deg"]) / ant["hpbw_deg"]) ** 2,
                      ant["sla_v_db"])
    return ant["max_gain_dbi"] - np.minimum(-(a_v + a_h), ant["front_to_back_db"])


per_re_dbm = radio["tx_power_dbm"] - 10.0 * np.log10(12 * radio["n_prb"])
new_cols = []
for x, y in policy["new_sites"]:
    for az in (30.0, 150.0, 270.0):
        dx, dy = ue_xy[:, 0] - x, ue_xy[:, 1] - y
        new_cols.append(per_re_dbm + sector_gain_dbi(dx, dy, az)
                        - pathloss_uma_nlos_db(np.hypot(dx, dy)))
if new_cols:
    r_dbm = np.hstack([r_dbm, np.column_stack(new_cols)])
serving = np.argmax(r_dbm, axis=1)
r_mw = 10.0 ** (r_dbm / 10.0)
sig = r_mw[np.arange(r_mw.shape[0]), serving]
noise_mw = 10.0 ** ((-174.0 + 10.0 * np.log10(radio["scs_khz"] * 1e3)
                     + radio["noise_figure_db"]) / 10.0)
sinr_db = 10.0 * np.log10(sig / (r_mw.sum(axis=1) - sig + noise_mw))
json.dump({"sinr_db": sinr_db.tolist()}, open("result.json", "w"))
