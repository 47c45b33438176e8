"""Devices the dispatcher delivers jobs to: printers and the POS, wrapping their drivers.

Printer drivers block (sockets, serial ports), so they run in a thread; POS drivers are async.
`retry_safe` says whether a job interrupted mid-delivery may be sent again without asking staff:
a POS dedupes by idempotency key, a printer would print the ticket twice.
"""

import abc
import asyncio
from datetime import datetime

from agent.config import AgentConfig, PrinterConf
from agent.devices.jobs import POS_DEVICE
from contract.money import exponent
from drivers.escpos.kitchen_ticket import KitchenTicket, TicketLine, render_kitchen_ticket
from drivers.escpos.receipt import Receipt, ReceiptLine, render_receipt
from drivers.escpos.status import PrinterState, PrinterStatus
from drivers.pos.base import Pos, PosLine, PosOrder
from drivers.printer import Printer
from drivers.registry import load_pos, load_printer


class Device(abc.ABC):
    retry_safe: bool = False

    def __init__(self, name: str) -> None:
        self.name = name

    @abc.abstractmethod
    async def deliver(self, kind: str, payload: dict) -> str | PrinterStatus | None:
        """Deliver one job; raises when it did not get through. A POS answers with its reference
        for the job (the check), a printer with what it said about itself as it took the job."""

    async def status(self) -> PrinterStatus | None:
        """What the device says about itself, when it can say anything (None: not asked)."""
        return None

    async def close(self) -> None:
        return None


class PrinterDevice(Device):
    def __init__(self, conf: PrinterConf, printer: Printer, language: str = "en") -> None:
        super().__init__(conf.name)
        self.printer = printer
        self.paper = conf.paper
        self.fallback = conf.fallback
        self.language = language

    def render(self, payload: dict) -> bytes:
        ticket = KitchenTicket(
            table_name=payload["table_name"], order_number=payload["order_number"],
            placed_at=datetime.fromisoformat(payload["placed_at"]).astimezone(),
            lines=[TicketLine(qty=ln["qty"], name=ln["name"], modifiers=ln["modifiers"], note=ln["note"],
                              course=ln.get("course", "")) for ln in payload["lines"]],
            reprint=payload.get("reprint", False), redirected_from=payload.get("redirected_from", ""))
        return render_kitchen_ticket(ticket, paper=self.paper, language=self.language)

    async def deliver(self, kind: str, payload: dict) -> PrinterStatus | None:
        if kind == "kitchen_ticket":
            data = self.render(payload)
        elif kind == "receipt":
            data = render_receipt(receipt_from(payload), paper=self.paper, language=self.language)
        else:
            raise ValueError(f"printer {self.name} cannot handle {kind!r} jobs")
        return await asyncio.to_thread(self.printer.send, data)

    async def status(self) -> PrinterStatus:
        try:
            return await asyncio.to_thread(self.printer.status)
        except Exception as exc:  # a driver's bug must not look like a healthy printer
            return PrinterStatus(PrinterState.UNKNOWN, f"status query failed: {exc}")


class PosDevice(Device):
    retry_safe = True

    def __init__(self, pos: Pos) -> None:
        super().__init__(POS_DEVICE)
        self.pos = pos

    async def deliver(self, kind: str, payload: dict) -> str | None:
        if kind == "pos_payment":
            await self._pay(payload)
            return None
        if kind != "pos_order":
            raise ValueError(f"the POS cannot handle {kind!r} jobs")
        order = PosOrder(
            order_id=payload["order_id"], number=payload["order_number"], table_name=payload["table_name"],
            currency=payload["currency"], total_minor=payload["total_minor"],
            visit_id=payload.get("visit_id", ""),  # jobs queued before visits were passed on have none
            lines=[PosLine(item_id=ln.get("pos_id") or ln["item_id"], name=ln["name"], qty=ln["qty"],
                           unit_price_minor=ln["unit_price_minor"],
                           modifiers=[m["name"] for m in ln["modifiers"]], note=ln["note"])
                   for ln in payload["lines"]])
        return await self.pos.submit_order(order, idempotency_key=payload["order_id"])

    async def _pay(self, payload: dict) -> None:
        """The payment onto each check it covers; a check fully paid is closed. Idempotent per
        (payment, check), so a retry after a timeout records nothing twice."""
        if self.pos.one_check_per_visit and payload.get("visit_id") and payload["allocations"]:
            await self._pay_visit_check(payload)
            return
        for part in payload["allocations"]:
            ref = payload["check_refs"].get(part["order_id"])
            if ref is None:
                raise RuntimeError(f"order {part['order_id']} has not reached the POS yet")
            await self.pos.add_payment(ref, part["amount_minor"], part["tip_minor"], payload["method"],
                                       idempotency_key=f"{payload['payment_id']}:{part['order_id']}")
            if part["closes"]:
                await self.pos.close_check(ref)

    async def _pay_visit_check(self, payload: dict) -> None:
        """One check for the whole visit: the payment goes onto it once, and it closes when the
        visit's bill is paid. The newest order the payment covers names the check (after a paid
        check closed, an order more of the same visit opened a new one)."""
        parts = payload["allocations"]
        ref = payload["check_refs"].get(parts[-1]["order_id"])
        if ref is None:
            raise RuntimeError(f"order {parts[-1]['order_id']} has not reached the POS yet")
        await self.pos.add_payment(ref, sum(p["amount_minor"] for p in parts), sum(p["tip_minor"] for p in parts),
                                   payload["method"], idempotency_key=f"{payload['payment_id']}:{payload['visit_id']}")
        if payload.get("visit_paid"):
            await self.pos.close_check(ref)

    async def close(self) -> None:
        await self.pos.close()


def build_printers(config: AgentConfig, language: str = "en") -> dict[str, PrinterDevice]:
    return {p.name: PrinterDevice(p, load_printer(p.kind, **p.options), language) for p in config.printers}


def build_devices(config: AgentConfig, language: str = "en") -> dict[str, Device]:
    """One device per configured printer, plus the POS when there is one."""
    devices: dict[str, Device] = dict(build_printers(config, language))
    if config.pos is not None:
        devices[POS_DEVICE] = PosDevice(load_pos(config.pos.kind, **config.pos.options))
    return devices


def receipt_from(payload: dict) -> Receipt:
    return Receipt(
        restaurant_name=payload["restaurant_name"], table_name=payload["table_name"],
        order_numbers=payload["order_numbers"],
        lines=[ReceiptLine(qty=ln["qty"], name=ln["name"], amount_minor=ln["amount_minor"]) for ln in payload["lines"]],
        currency=payload["currency"], subtotal_minor=payload["subtotal_minor"],
        taxes=[(label, amount) for label, amount in payload["taxes"]], tip_minor=payload["tip_minor"],
        total_minor=payload["total_minor"], paid_by=payload["paid_by"],
        printed_at=datetime.fromisoformat(payload["printed_at"]).astimezone(),
        exponent=exponent(payload["currency"]))
