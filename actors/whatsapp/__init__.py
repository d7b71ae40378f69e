"""WhatsApp clients: one interface (:mod:`actors.whatsapp.client`), a simulated implementation."""
